/* status.c - status strings, and the one function every error passes through. */
#include "internal.h"

static const char *const messages[] = {
    [MLP2_OK] = "success",
    [MLP2_EINVAL] = "invalid argument",
    [MLP2_ENOMEM] = "out of memory",
    [MLP2_ERANGE] = "size out of range",
    [MLP2_ENONFINITE] = "non-finite value (NaN or Inf)",
    [MLP2_EIO] = "input/output error",
    [MLP2_EFORMAT] = "malformed model file",
    [MLP2_ENOENT] = "no such section",
};

const char *mlp2_strerror(mlp2_status s)
{
    unsigned i = (unsigned)s;
    if (i < sizeof messages / sizeof messages[0] && messages[i])
        return messages[i];
    return "unknown status code";
}

const char *mlp2_stop_reason_name(mlp2_stop_reason r)
{
    switch (r) {
    case MLP2_STOP_EPOCHS: return "epochs";
    case MLP2_STOP_EARLY: return "early-stopping";
    case MLP2_STOP_CALLBACK: return "callback";
    case MLP2_STOP_CANCELLED: return "cancelled";
    case MLP2_STOP_NONFINITE: return "non-finite";
    }
    return "unknown";
}

/* Set a breakpoint here to catch every error the library reports. */
mlp2_status mlp2__fail(mlp2_status s)
{
    return s;
}

const char *mlp2_version(void)
{
    return MLP2_VERSION_STRING;
}

int mlp2_version_number(void)
{
    return MLP2_VERSION_NUMBER;
}
