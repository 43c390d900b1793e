"""What e2e_bench.py reads of the relay's process: CPU-seconds, minor faults and peak RSS from
/proc, and its system calls counted by strace -c -f -p (every thread, including those started
later) or perf stat -e raw_syscalls:sys_enter -p (only the threads present when it starts)."""

import os
import re
import signal
import subprocess
import threading
import time

CLK_TCK = os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return 0.0


def proc_counters(pid):
    """(CPU seconds utime+stime, minor faults) of the whole process, all threads."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state): minflt is field 10, utime 14, stime 15.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK, int(fields[7])


class SyscallCounter:
    """strace -c -f -p PID (every thread of the process, and any it starts) or perf stat."""

    def __init__(self, tool, pid, workdir):
        self.tool = tool
        self.pid = pid
        self.out = os.path.join(workdir, "syscalls-%d.txt" % pid)
        self.proc = None
        self.attached = 0
        self.threads = len(os.listdir("/proc/%d/task" % pid))
        self._attached_all = threading.Event()

    def start(self):
        if self.tool == "strace":
            cmd = ["strace", "-c", "-f", "-p", str(self.pid), "-o", self.out]
        else:
            cmd = ["perf", "stat", "-e", "raw_syscalls:sys_enter", "-x", ",", "-o", self.out, "-p", str(self.pid)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if self.tool == "strace":
            threading.Thread(target=self._read_stderr, daemon=True).start()
            # strace names each thread it attaches to; wait for all of them.
            self._attached_all.wait(10)
        else:
            time.sleep(1.0)  # perf prints nothing when ready
        if self.proc.poll() is not None:
            raise RuntimeError("%s exited at start (rc %s)" % (self.tool, self.proc.returncode))

    def _read_stderr(self):
        # "Process N attached with K threads" for the process, "Process N attached" for each
        # thread started later.
        for line in self.proc.stderr:
            if "attached" in line:
                m = re.search(r"attached with (\d+) threads", line)
                self.attached += int(m.group(1)) if m else 1
                if self.attached >= self.threads:
                    self._attached_all.set()

    def stop(self):
        """Stops the count (SIGINT) and returns (total, [(name, calls), ...] by calls)."""
        if self.proc is None:
            return 0, []
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        with open(self.out) as f:
            text = f.read()
        os.unlink(self.out)
        if self.tool == "perf":
            for line in text.splitlines():
                parts = line.split(",")
                if len(parts) > 2 and "raw_syscalls:sys_enter" in parts[2]:
                    return int(parts[0]), []
            return 0, []
        total, calls = 0, []
        for line in text.splitlines():
            fields = line.split()
            if len(fields) < 5 or not fields[0][0].isdigit():
                continue
            if fields[-1] == "total":
                total = int(fields[3])
            else:
                calls.append((fields[-1], int(fields[3])))
        calls.sort(key=lambda c: -c[1])
        return total, calls
