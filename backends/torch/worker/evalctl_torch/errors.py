"""Typed errors of the worker. Each becomes a 4xx answer with its message;
anything else is a 500 with the traceback on stderr."""


class WorkerError(Exception):
    """A request the worker cannot serve (bad input, unsupported feature)."""

    status = 400


class ConfigError(WorkerError):
    """A problem with a config file, naming the file and the key (the
    native runtime's ConfigError, same text)."""

    def __init__(self, file, key, msg):
        self.file, self.key, self.msg = file, key, msg
        super().__init__("%s: %s: %s" % (file, key, msg) if key else "%s: %s" % (file, msg))


class WeightsError(WorkerError):
    """A problem with the weights: a missing, misshapen or unused tensor."""


class DeviceError(WorkerError):
    """A request for something the device cannot do (a Triton kernel on the
    CPU, an unknown device)."""


class Cancelled(WorkerError):
    """The request was cancelled by POST /cancel."""

    status = 409


class Busy(WorkerError):
    status = 503
