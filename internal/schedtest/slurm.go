// Package schedtest runs evalctl under real schedulers, for the tests of
// the scheduler templates in docs/: it owns a single-node Slurm cluster
// (Debian's slurm-wlm and munge: munged, slurmctld and slurmd on
// localhost), started in a temporary directory with a generated
// slurm.conf and munge key, and stopped with every process it started.
//
// Slurm runs here without systemd or cgroups, as in a container:
// ProctrackType=proctrack/linuxproc (processes tracked by parent pid),
// TaskPlugin=task/none, no accounting (jobacct_gather/none,
// accounting_storage/none), SlurmUser and SlurmdUser the current user,
// state, spool, pid and log files in the temporary directory, and free
// ports on 127.0.0.1. GPUs can be faked for --gres=gpu:N scheduling:
// character devices with the numbers of /dev/null, listed in gres.conf.
//
// Every process the cluster starts (daemons, slurmstepd, the jobs) carries
// the environment variable EVALCTL_SLURMTEST=<its directory>; Close cancels
// the jobs, stops the daemons, then kills by process id whatever still
// carries the mark, so a failed test leaves nothing running.
package schedtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// MarkEnv is the variable that marks every process of a cluster.
const MarkEnv = "EVALCTL_SLURMTEST"

// SlurmPrograms are the programs StartSlurm needs (Debian packages
// slurm-wlm, slurm-client and munge).
var SlurmPrograms = []string{"munged", "mungekey", "slurmctld", "slurmd", "sbatch", "scontrol", "squeue", "scancel", "sinfo"}

// lookPath finds a program on PATH or in the sbin directories, which a
// non-login PATH may lack.
func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin"} {
		p := filepath.Join(dir, name)
		if st, err := os.Stat(p); err == nil && !st.IsDir() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s: not found on PATH or in /usr/sbin", name)
}

// MissingSlurm returns the programs of SlurmPrograms that are not installed.
func MissingSlurm() []string {
	var missing []string
	for _, p := range SlurmPrograms {
		if _, err := lookPath(p); err != nil {
			missing = append(missing, p)
		}
	}
	return missing
}

// SlurmOptions configure StartSlurm.
type SlurmOptions struct {
	CPUs     int // CPUs of the node (default 4; more than the machine has is allowed)
	MemoryMB int // memory of the node (default 4096)
	GPUs     int // fake GPUs for --gres=gpu:N (0: none); needs mknod (root)
	// Log receives progress lines (nil: none).
	Log func(format string, a ...any)
}

// Slurm is a running single-node cluster.
type Slurm struct {
	Dir       string // everything of the cluster: configuration, state, spool, logs
	Conf      string // its slurm.conf (SLURM_CONF of the client commands)
	Node      string // the node's name
	Partition string // the only partition, the default
	Keep      bool   // Close leaves Dir in place (to read the logs)

	env     []string
	daemons []*daemon
	logf    func(string, ...any)
}

type daemon struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
}

func (d *daemon) exited() bool {
	select {
	case <-d.done:
		return true
	default:
		return false
	}
}

// StartSlurm starts munged, slurmctld and slurmd in a new temporary
// directory and waits until the node is idle. On error nothing is left
// running.
func StartSlurm(ctx context.Context, o SlurmOptions) (_ *Slurm, err error) {
	if missing := MissingSlurm(); len(missing) > 0 {
		return nil, fmt.Errorf("not installed: %s (Debian: apt-get install slurm-wlm munge)", strings.Join(missing, ", "))
	}
	if o.CPUs <= 0 {
		o.CPUs = 4
	}
	if o.MemoryMB <= 0 {
		o.MemoryMB = 4096
	}
	dir, err := os.MkdirTemp("", "evalctl-slurm-")
	if err != nil {
		return nil, err
	}
	s := &Slurm{Dir: dir, Conf: filepath.Join(dir, "slurm.conf"), Node: "evalctl-node", Partition: "evalctl", logf: o.Log}
	if s.logf == nil {
		s.logf = func(string, ...any) {}
	}
	defer func() {
		if err != nil {
			err = fmt.Errorf("%w\n%s", err, s.Logs())
			s.Close()
		}
	}()
	// munged refuses a socket in a directory that others cannot enter, and
	// a key that others can read.
	for _, d := range []struct {
		name string
		mode os.FileMode
	}{{"", 0o755}, {"run", 0o755}, {"munge", 0o700}, {"state", 0o700}, {"spool", 0o755}, {"log", 0o755}, {"dev", 0o755}} {
		p := filepath.Join(dir, d.name)
		if err := os.MkdirAll(p, d.mode); err != nil {
			return nil, err
		}
		if err := os.Chmod(p, d.mode); err != nil {
			return nil, err
		}
	}
	s.env = append(os.Environ(), "SLURM_CONF="+s.Conf, MarkEnv+"="+dir)

	key := filepath.Join(dir, "munge", "munge.key")
	if out, err := s.Output(ctx, "mungekey", "--create", "--keyfile", key); err != nil {
		return nil, fmt.Errorf("mungekey: %v: %s", err, out)
	}
	sock := filepath.Join(dir, "run", "munge.socket")
	if err := s.start("munged", "--foreground", "--socket="+sock, "--key-file="+key,
		"--log-file="+filepath.Join(dir, "log", "munged.log"), "--pid-file="+filepath.Join(dir, "run", "munged.pid"),
		"--seed-file="+filepath.Join(dir, "munge", "munged.seed")); err != nil {
		return nil, err
	}
	if err := s.waitFor(ctx, 15*time.Second, "munged's socket", func() bool {
		_, err := os.Stat(sock)
		return err == nil
	}); err != nil {
		return nil, err
	}

	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, err
	}
	host, _, _ = strings.Cut(host, ".")
	gres := ""
	if o.GPUs > 0 {
		files, err := fakeGPUs(filepath.Join(dir, "dev"), o.GPUs)
		if err != nil {
			return nil, err
		}
		gres = fmt.Sprintf(" Gres=gpu:%d", o.GPUs)
		conf := fmt.Sprintf("NodeName=%s Name=gpu File=%s\n", s.Node, files)
		if err := os.WriteFile(filepath.Join(dir, "gres.conf"), []byte(conf), 0o644); err != nil {
			return nil, err
		}
	}
	user, err := currentUser()
	if err != nil {
		return nil, err
	}
	conf := slurmConf(confValues{
		Dir: dir, Host: host, CtldPort: ports[0], SlurmdPort: ports[1], User: user, Socket: sock,
		Node: s.Node, Partition: s.Partition, CPUs: o.CPUs, MemoryMB: o.MemoryMB, Gres: gres, GPUs: o.GPUs > 0,
	})
	if err := os.WriteFile(s.Conf, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "plugstack.conf"), nil, 0o644); err != nil {
		return nil, err
	}
	if err := s.start("slurmctld", "-D", "-f", s.Conf); err != nil {
		return nil, err
	}
	if err := s.waitFor(ctx, 30*time.Second, "slurmctld", func() bool {
		_, err := s.Output(ctx, "scontrol", "ping")
		return err == nil
	}); err != nil {
		return nil, err
	}
	if err := s.start("slurmd", "-D", "-f", s.Conf, "-N", s.Node); err != nil {
		return nil, err
	}
	if err := s.waitFor(ctx, 60*time.Second, "the node to be idle", func() bool {
		out, err := s.Output(ctx, "sinfo", "-h", "-n", s.Node, "-o", "%T")
		return err == nil && strings.TrimSpace(out) == "idle"
	}); err != nil {
		return nil, err
	}
	s.logf("slurm: cluster up in %s (slurmctld on 127.0.0.1:%d, slurmd on :%d, %d CPUs, %d GPUs)", dir, ports[0], ports[1], o.CPUs, o.GPUs)
	return s, nil
}

type confValues struct {
	Dir, Host, User, Socket, Node, Partition, Gres string
	CtldPort, SlurmdPort, CPUs, MemoryMB           int
	GPUs                                           bool
}

// slurmConf writes the cluster's configuration: no cgroups, no
// accounting, everything under Dir.
func slurmConf(v confValues) string {
	var b strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&b, format+"\n", a...) }
	w("# Generated by evalctl's internal/schedtest: a single-node cluster on localhost.")
	w("ClusterName=evalctltest")
	w("SlurmctldHost=%s(127.0.0.1)", v.Host)
	w("SlurmctldPort=%d", v.CtldPort)
	w("SlurmdPort=%d", v.SlurmdPort)
	w("SlurmUser=%s", v.User)
	w("SlurmdUser=%s", v.User)
	w("AuthType=auth/munge")
	w("CredType=cred/munge")
	w("AuthInfo=socket=%s", v.Socket)
	w("StateSaveLocation=%s/state", v.Dir)
	w("SlurmdSpoolDir=%s/spool", v.Dir)
	w("SlurmctldPidFile=%s/run/slurmctld.pid", v.Dir)
	w("SlurmdPidFile=%s/run/slurmd.pid", v.Dir)
	w("SlurmctldLogFile=%s/log/slurmctld.log", v.Dir)
	w("SlurmdLogFile=%s/log/slurmd.log", v.Dir)
	w("SlurmctldDebug=info")
	w("SlurmdDebug=info")
	w("PlugStackConfig=%s/plugstack.conf", v.Dir)
	w("MailProg=/bin/true")
	// Containers have neither systemd nor delegated cgroups.
	w("ProctrackType=proctrack/linuxproc")
	w("TaskPlugin=task/none")
	w("JobAcctGatherType=jobacct_gather/none")
	w("AccountingStorageType=accounting_storage/none")
	w("JobCompType=jobcomp/none")
	w("MpiDefault=none")
	w("SwitchType=switch/none")
	w("SchedulerType=sched/backfill")
	w("SelectType=select/cons_tres")
	w("SelectTypeParameters=CR_CPU")
	w("SlurmdParameters=config_overrides") // the node may claim more CPUs than the machine has
	w("ReturnToService=2")
	w("MinJobAge=3600") // finished jobs stay visible to scontrol show job
	w("KillWait=10")
	w("JobRequeue=1")
	if v.GPUs {
		w("GresTypes=gpu")
	}
	w("NodeName=%s NodeHostname=%s NodeAddr=127.0.0.1 CPUs=%d RealMemory=%d%s State=UNKNOWN", v.Node, v.Host, v.CPUs, v.MemoryMB, v.Gres)
	w("PartitionName=%s Nodes=%s Default=YES MaxTime=INFINITE State=UP", v.Partition, v.Node)
	return b.String()
}

// fakeGPUs makes n character devices with /dev/null's numbers in dir and
// returns them in gres.conf's range syntax.
func fakeGPUs(dir string, n int) (string, error) {
	for i := range n {
		p := filepath.Join(dir, fmt.Sprintf("gpu%d", i))
		if err := syscall.Mknod(p, syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
			return "", fmt.Errorf("fake GPU device %s: %w (needs root)", p, err)
		}
	}
	if n == 1 {
		return filepath.Join(dir, "gpu0"), nil
	}
	return filepath.Join(dir, fmt.Sprintf("gpu[0-%d]", n-1)), nil
}

func currentUser() (string, error) {
	if u := os.Getenv("USER"); u != "" && os.Getuid() != 0 {
		return u, nil
	}
	if os.Getuid() == 0 {
		return "root", nil
	}
	out, err := exec.Command("id", "-un").Output()
	if err != nil {
		return "", fmt.Errorf("id -un: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// freePorts returns n TCP ports free on 127.0.0.1 now.
func freePorts(n int) ([]int, error) {
	var ports []int
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// start starts a daemon in the foreground, its output in log/NAME.out.
func (s *Slurm) start(name string, args ...string) error {
	path, err := lookPath(name)
	if err != nil {
		return err
	}
	out, err := os.Create(filepath.Join(s.Dir, "log", name+".out"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = s.env
	cmd.Stdout, cmd.Stderr = out, out
	// Its own process group, and killed if this process dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		out.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	d := &daemon{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		cmd.Wait()
		out.Close()
		close(d.done)
	}()
	s.daemons = append(s.daemons, d)
	return nil
}

// waitFor polls ok until it holds, a daemon exits, or the time is up.
func (s *Slurm) waitFor(ctx context.Context, limit time.Duration, what string, ok func() bool) error {
	deadline := time.Now().Add(limit)
	for {
		if ok() {
			return nil
		}
		for _, d := range s.daemons {
			if d.exited() {
				return fmt.Errorf("waiting for %s: %s exited (%v)", what, d.name, d.cmd.ProcessState)
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("waiting for %s: not after %s", what, limit)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Env is the environment of the cluster's client commands: this process's
// environment, SLURM_CONF, and the mark.
func (s *Slurm) Env() []string { return append([]string(nil), s.env...) }

// Command returns a client command (sbatch, scontrol, ...) of the cluster.
func (s *Slurm) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	path, err := lookPath(name)
	if err != nil {
		path = name // exec reports it
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = s.env
	return cmd
}

// Output runs a client command and returns its standard output; on
// failure the error holds its standard error.
func (s *Slurm) Output(ctx context.Context, name string, args ...string) (string, error) {
	cmd := s.Command(ctx, name, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// Job is one job (or array task) as scontrol show job tells it.
type Job struct {
	ID, ArrayJobID, ArrayTaskID string
	State, Reason, ExitCode     string
	Restarts                    int
	Fields                      map[string]string
}

// ParseJobs parses the output of scontrol show job --oneliner: one job per
// line, space-separated Key=Value fields.
func ParseJobs(out string) []Job {
	var jobs []Job
	for line := range strings.SplitSeq(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		f := map[string]string{}
		for tok := range strings.FieldsSeq(line) {
			if k, v, ok := strings.Cut(tok, "="); ok {
				if _, dup := f[k]; !dup {
					f[k] = v
				}
			}
		}
		if f["JobId"] == "" {
			continue
		}
		j := Job{ID: f["JobId"], ArrayJobID: f["ArrayJobId"], ArrayTaskID: f["ArrayTaskId"],
			State: f["JobState"], Reason: f["Reason"], ExitCode: f["ExitCode"], Fields: f}
		j.Restarts, _ = strconv.Atoi(f["Restarts"])
		jobs = append(jobs, j)
	}
	return jobs
}

// Jobs returns the jobs (array tasks one by one) of a job id.
func (s *Slurm) Jobs(ctx context.Context, id string) ([]Job, error) {
	out, err := s.Output(ctx, "scontrol", "show", "job", "--oneliner", id)
	if err != nil {
		return nil, err
	}
	return ParseJobs(out), nil
}

// Wait waits until no job of ids is pending or running.
func (s *Slurm) Wait(ctx context.Context, ids ...string) error {
	for {
		out, err := s.Output(ctx, "squeue", "--noheader", "--jobs", strings.Join(ids, ","), "--format", "%i %T")
		if err == nil && strings.TrimSpace(out) == "" {
			return nil
		}
		for _, d := range s.daemons {
			if d.exited() {
				return fmt.Errorf("waiting for jobs %v: %s exited (%v)", ids, d.name, d.cmd.ProcessState)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for jobs %v (still queued: %s): %w", ids, strings.Join(strings.Fields(out), " "), ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// Logs returns the tails of the daemons' logs, for a failure message.
func (s *Slurm) Logs() string {
	var b strings.Builder
	for _, name := range []string{"munged.out", "munged.log", "slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"} {
		data, err := os.ReadFile(filepath.Join(s.Dir, "log", name))
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > 25 {
			lines = lines[len(lines)-25:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", name, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Close cancels every job, stops the daemons (SIGTERM, then SIGKILL after
// 10 s), kills by process id any process still marked with this cluster's
// directory (slurmstepd, a job's processes), and removes the directory
// unless Keep is set. It is safe to call more than once.
func (s *Slurm) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var errs []error
	ctldUp := false
	for _, d := range s.daemons {
		if d.name == "slurmctld" && !d.exited() {
			ctldUp = true
		}
	}
	if ctldUp {
		if _, err := s.Output(ctx, "scancel", "--partition", s.Partition); err != nil {
			s.logf("slurm: scancel: %v", err)
		}
		wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
		for wctx.Err() == nil {
			out, err := s.Output(wctx, "squeue", "--noheader", "--format", "%i")
			if err != nil || strings.TrimSpace(out) == "" {
				break
			}
			time.Sleep(300 * time.Millisecond)
		}
		wcancel()
	}
	// Stop in reverse order: slurmd, slurmctld, munged.
	for i := len(s.daemons) - 1; i >= 0; i-- {
		d := s.daemons[i]
		if d.exited() {
			continue
		}
		d.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-d.done:
		case <-time.After(10 * time.Second):
			d.cmd.Process.Kill()
			<-d.done
			errs = append(errs, fmt.Errorf("%s did not stop on SIGTERM; killed", d.name))
		}
	}
	s.daemons = nil
	if n := killMarked(s.Dir); n > 0 {
		s.logf("slurm: killed %d leftover processes of the cluster", n)
	}
	if !s.Keep && s.Dir != "" {
		if err := os.RemoveAll(s.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// killMarked sends SIGKILL to every process whose environment holds
// MarkEnv=dir, and waits a little for them to go. It returns how many it
// found.
func killMarked(dir string) int {
	mark := []byte(MarkEnv + "=" + dir + "\x00")
	killed := 0
	for round := 0; round < 10; round++ {
		pids := markedPids(mark)
		if len(pids) == 0 {
			break
		}
		for _, pid := range pids {
			if syscall.Kill(pid, syscall.SIGKILL) == nil && round == 0 {
				killed++
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return killed
}

func markedPids(mark []byte) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	self := os.Getpid()
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		if bytes.HasPrefix(env, mark) || bytes.Contains(env, append([]byte{0}, mark...)) {
			pids = append(pids, pid)
		}
	}
	return pids
}
