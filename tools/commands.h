/* commands.h - the commands of `mlp2`, one file each; main.c dispatches.
 * Each takes the arguments after the command's name and returns the exit
 * status. */
#ifndef MLP2_TOOLS_COMMANDS_H
#define MLP2_TOOLS_COMMANDS_H

int cmd_train(int argc, char **argv);   /* train.c */
int cmd_eval(int argc, char **argv);    /* eval.c */
int cmd_predict(int argc, char **argv); /* predict.c */
int cmd_info(int argc, char **argv);    /* info.c */
int cmd_export(int argc, char **argv);  /* export.c */

#endif
