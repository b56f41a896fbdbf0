# -*- test-case-name: tests.scripts.test_daemon -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Running a command in the background as the C tools' C{-d} does, but
honestly: the process the user started waits until the daemon is ready,
passes on what it wrote to standard error until then, and exits 0 only if
it got that far (1 otherwise); and C{-p PIDFILE} files that are written
once and removed at exit.

    notifier = detach()              # in the daemon from here on
    pidfile = PidFile(path); pidfile.write()
    ...                              # attach
    notifier.ready()                 # the user's command returns 0
    ...
    pidfile.remove()

L{detach} must run before the reactor starts (it forks).

L{runService} does all of it for a L{vdetwist.service.FaceService}
(C{vdetwist switch}, C{vdetwist slirp}): a failed start is one line on
standard error and status 1, in the background too (the waiting parent
prints it).
"""

import os
import sys
from typing import Any, Callable, Dict, Optional


class ReadyNotifier:
    """
    The daemon's end of the pipe to the waiting parent: standard error
    goes into it until L{ready}.

    @ivar fd: the pipe's write end, or L{None} once ready.
    """

    def __init__(self, fd: Optional[int]) -> None:
        self.fd = fd

    def ready(self) -> None:
        """
        Tell the parent all went well (it exits 0), and send standard
        error to /dev/null from now on.
        """
        if self.fd is None:
            return
        sys.stderr.flush()
        os.write(self.fd, b"\0")
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        os.close(self.fd)
        self.fd = None


def detach() -> ReadyNotifier:
    """
    Become a daemon: fork twice, a new session, C{chdir("/")}, standard
    input and output on /dev/null, standard error into the pipe to the
    parent, which waits for L{ReadyNotifier.ready} (exit 0, after copying
    what the daemon wrote to standard error) or the pipe's end without it
    (exit 1).  Only the daemon returns.

    @return: the notifier.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    readEnd, writeEnd = os.pipe()
    if os.fork() > 0:
        os.close(writeEnd)
        chunks = []
        while True:
            chunk = os.read(readEnd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        ok = data.endswith(b"\0")
        if ok:
            data = data[:-1]
        if data:
            os.write(2, data)
        os._exit(0 if ok else 1)
    os.close(readEnd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(writeEnd, 2)
    os.close(null)
    return ReadyNotifier(writeEnd)


class PidFile:
    """
    A pid file, written once and removed by whoever wrote it.

    @ivar path: its absolute path.
    """

    def __init__(self, path: str) -> None:
        """
        @param path: the path (made absolute now, before any C{chdir}).
        """
        self.path = os.path.abspath(path)
        self._written: Optional[int] = None

    def write(self) -> None:
        """
        Write our pid.

        @raise OSError: the file cannot be written.
        """
        with open(self.path, "w") as f:
            f.write("%d\n" % (os.getpid(),))
        self._written = os.getpid()

    def remove(self) -> None:
        """
        Remove the file, if this process wrote it.
        """
        if self._written == os.getpid():
            self._written = None
            try:
                os.unlink(self.path)
            except OSError:
                pass


def runService(command: str, options: Any,
               build: Callable[[Any, Any], Any]) -> int:
    """
    Run a face's services as the C tools run: in the foreground, or with
    C{options["daemon"]} in the background once started (the command
    returns 0 then, or 1 with the one line of a failed start), with
    C{options["pidfile"]} written before and removed at exit.

    Logging: warnings and errors as C{COMMAND: text} lines on standard
    error in the foreground; everything to syslog as a daemon (as
    vde_switch and slirpvde log).

    @param command: the command's name (C{"vdetwist switch"}).
    @param options: the parsed options, with C{daemon} and C{pidfile};
        paths in them absolute (the daemon changes directory to C{/}).
    @param build: C{build(options, reactor)} returns the
        L{vdetwist.service.FaceService}.
    @return: the exit status.
    """
    pidfile = PidFile(options["pidfile"]) if options["pidfile"] else None
    notifier = detach() if options["daemon"] else ReadyNotifier(None)
    if pidfile is not None:
        try:
            pidfile.write()
        except OSError as e:
            sys.stderr.write("%s: cannot write the pid file %s: %s\n" % (
                command, pidfile.path, e.strerror))
            sys.stderr.flush()
            return 1
    try:
        return _runFace(command, options, build, notifier)
    finally:
        if pidfile is not None:
            pidfile.remove()


def _runFace(command: str, options: Any, build: Callable[[Any, Any], Any],
             notifier: ReadyNotifier) -> int:
    """
    Start the face before the reactor runs (as twistd does), tell the
    waiting parent once it is ready, run the reactor, stop the services at
    shutdown.

    @return: the exit status: the face's when its start failed, else 0.
    """
    from twisted.internet import reactor
    from twisted.logger import globalLogBeginner

    globalLogBeginner.beginLoggingTo(
        [_logObserver(command, options["daemon"])], redirectStandardIO=False)
    face = build(options, reactor)
    face.privilegedStartService()
    face.startService()
    reactor.addSystemEventTrigger("before", "shutdown", face.stopService)
    face.whenReady().addCallback(lambda _: notifier.ready())
    reactor.run()
    return face.exitStatus or 0


def _logObserver(command: str, daemon: bool) -> Any:
    """
    Where log events go: syslog for a daemon, else warnings and errors on
    standard error as C{COMMAND: text}.
    """
    from twisted.logger import LogLevel, formatEvent

    if daemon:
        import syslog
        syslog.openlog(command.replace(" ", "_"), syslog.LOG_PID, syslog.LOG_DAEMON)
        priorities = {LogLevel.debug: syslog.LOG_DEBUG, LogLevel.info: syslog.LOG_INFO,
                      LogLevel.warn: syslog.LOG_WARNING, LogLevel.error: syslog.LOG_ERR,
                      LogLevel.critical: syslog.LOG_CRIT}

        def toSyslog(event: Dict[str, Any]) -> None:
            level = event.get("log_level", LogLevel.info)
            if level is LogLevel.debug:
                return
            text = formatEvent(event)
            if "log_failure" in event:
                text += "\n" + event["log_failure"].getTraceback()
            syslog.syslog(priorities.get(level, syslog.LOG_INFO), text)
        return toSyslog

    loud = (LogLevel.warn, LogLevel.error, LogLevel.critical)

    def toStderr(event: Dict[str, Any]) -> None:
        if event.get("log_level", LogLevel.info) not in loud:
            return
        text = formatEvent(event)
        if "log_failure" in event:
            text += "\n" + event["log_failure"].getTraceback()
        try:
            sys.__stderr__.write("%s: %s\n" % (command, text))
            sys.__stderr__.flush()
        except (OSError, ValueError, AttributeError):
            pass
    return toStderr
