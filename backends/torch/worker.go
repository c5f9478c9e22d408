package torch

import (
	"bufio"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

//go:embed worker/evalctl_torch/*.py
var workerFS embed.FS

var extracted struct {
	once sync.Once
	dir  string
	err  error
}

// WorkerDir returns a directory holding the worker's Python package
// (evalctl_torch), extracted from the binary once per process into the
// system's temporary directory (a directory named by the content's digest,
// so concurrent processes share it and a new build never reuses an old
// one). Put it on PYTHONPATH and run python3 -m evalctl_torch.
func WorkerDir() (string, error) {
	extracted.once.Do(func() { extracted.dir, extracted.err = extract(workerFS, "worker", os.TempDir()) })
	return extracted.dir, extracted.err
}

func extract(fsys fs.FS, root, tmp string) (string, error) {
	files := map[string][]byte{}
	h := sha256.New()
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, root+"/")
		files[rel] = b
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
		return nil
	})
	if err != nil {
		return "", err
	}
	dir := filepath.Join(tmp, "evalctl-torch-"+hex.EncodeToString(h.Sum(nil))[:16])
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir, nil
	}
	stage, err := os.MkdirTemp(tmp, "evalctl-torch-stage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(stage)
	for rel, b := range files {
		p := filepath.Join(stage, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return "", err
		}
	}
	if err := os.WriteFile(filepath.Join(stage, ".complete"), nil, 0o644); err != nil {
		return "", err
	}
	if err := os.Rename(stage, dir); err != nil {
		// Another process won the race: use its copy if it is complete.
		if _, serr := os.Stat(filepath.Join(dir, ".complete")); serr == nil {
			return dir, nil
		}
		return "", err
	}
	return dir, nil
}

// Health is the worker's GET /health answer.
type Health struct {
	Ready  bool   `json:"ready"`
	PID    int    `json:"pid"`
	Device string `json:"device"`
	DType  string `json:"dtype"`
	Torch  string `json:"torch"`
	Triton string `json:"triton"`
	Busy   bool   `json:"busy"`
	Port   int    `json:"port"`
	Model  *struct {
		Path         string `json:"path"`
		ConfigSHA256 string `json:"config_sha256"`
		Arch         string `json:"arch"`
		Layers       int    `json:"layers"`
	} `json:"model"`
}

// tail keeps the last bytes written to it.
type tail struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	return s
}

// proc is one worker: a process this evalctl started, or a URL.
type proc struct {
	device  string // "cuda:0", "cpu", or "" for a URL worker
	url     string
	spec    *spec
	cmd     *exec.Cmd
	exited  chan struct{}
	exitErr error
	stderr  *tail
	logPath string
	health  Health
	broken  error // set when the worker must be restarted (spawned) or is unusable (URL)
	started bool
}

// spec is what every worker of a pool is started with.
type spec struct {
	python       string
	path         string // model directory on the worker's host ("" for attention-only)
	dtype        string
	threads      int
	logDir       string
	startTimeout time.Duration
	configSHA    string // of the local config.json, checked against URL workers
}

func (p *proc) name() string {
	if p.device != "" {
		return "torch worker " + p.device
	}
	return "torch worker " + p.url
}

// start launches a spawned worker and waits for its readiness line.
func (p *proc) start(ctx context.Context) error {
	dir, err := WorkerDir()
	if err != nil {
		return fmt.Errorf("%s: extracting the worker: %w", p.name(), err)
	}
	s := p.spec
	args := []string{"-m", "evalctl_torch", "serve", "--host", "127.0.0.1", "--port", "0", "--device", p.device,
		"--dtype", s.dtype, "--threads", strconv.Itoa(s.threads)}
	if s.path != "" {
		args = append(args, "--path", s.path)
	}
	cmd := exec.Command(s.python, args...)
	env := os.Environ()
	pp := dir
	if old := os.Getenv("PYTHONPATH"); old != "" {
		pp += string(os.PathListSeparator) + old
	}
	cmd.Env = append(env, "PYTHONPATH="+pp, "PYTHONUNBUFFERED=1", "PYTHONDONTWRITEBYTECODE=1")
	setProcAttrs(cmd)
	p.stderr = &tail{max: 8 << 10}
	logDir := s.logDir
	if logDir == "" {
		logDir = os.TempDir()
	}
	lf, err := os.CreateTemp(logDir, "evalctl-torch-"+strings.ReplaceAll(p.device, ":", "")+"-*.log")
	if err != nil {
		return fmt.Errorf("%s: log file: %w", p.name(), err)
	}
	p.logPath = lf.Name()
	cmd.Stderr = io.MultiWriter(lf, p.stderr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		lf.Close()
		return err
	}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return fmt.Errorf("%s: starting %s: %w", p.name(), s.python, err)
	}
	p.cmd = cmd
	p.exited = make(chan struct{})
	p.started = true
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		if sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		io.Copy(io.Discard, out)
	}()
	go func() {
		p.exitErr = cmd.Wait()
		lf.Close()
		close(p.exited)
	}()
	timer := time.NewTimer(s.startTimeout)
	defer timer.Stop()
	select {
	case line, ok := <-lines:
		if !ok {
			<-p.exited
			return p.exitError("exited before it was ready")
		}
		if err := json.Unmarshal([]byte(line), &p.health); err != nil || p.health.Port == 0 {
			p.kill()
			return fmt.Errorf("%s: bad readiness line %q", p.name(), line)
		}
		p.url = fmt.Sprintf("http://127.0.0.1:%d", p.health.Port)
		return nil
	case <-p.exited:
		return p.exitError("exited before it was ready")
	case <-timer.C:
		p.kill()
		return fmt.Errorf("%s: not ready after %v (start_timeout); stderr: %s", p.name(), s.startTimeout, p.stderr)
	case <-ctx.Done():
		p.kill()
		return ctx.Err()
	}
}

// startError is a worker that could not start because of its input (exit
// status 2: a config, weights or device problem): retrying cannot help.
type startError struct{ msg string }

func (e *startError) Error() string { return e.msg }

func (p *proc) exitError(what string) error {
	msg := fmt.Sprintf("%s %s (%v); log %s", p.name(), what, p.exitErr, p.logPath)
	if t := p.stderr.String(); t != "" {
		msg += "; stderr: " + lastLines(t, 12)
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) && ee.ExitCode() == 2 {
		return &startError{msg}
	}
	return errors.New(msg)
}

func lastLines(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// alive says whether a spawned worker's process is still running.
func (p *proc) alive() bool {
	if p.cmd == nil {
		return p.broken == nil
	}
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	killProc(p.cmd)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
	}
}

// stop asks a spawned worker to exit, then kills it.
func (p *proc) stop() {
	if p.cmd == nil || !p.alive() {
		return
	}
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Post(p.url+"/shutdown", "application/json", strings.NewReader("{}")); err == nil {
		resp.Body.Close()
	}
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

// checkURL reads a URL worker's health and checks it serves this model.
func (p *proc) checkURL(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", p.url+"/health", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", p.name(), err)
	}
	defer resp.Body.Close()
	var h Health
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&h); err != nil || !h.Ready {
		return fmt.Errorf("%s: /health: not ready (%v)", p.name(), err)
	}
	s := p.spec
	if s.path != "" {
		if h.Model == nil {
			return fmt.Errorf("%s serves no model; start it with --path", p.name())
		}
		if s.configSHA != "" && h.Model.ConfigSHA256 != s.configSHA {
			return fmt.Errorf("%s serves %s, whose config.json differs from the local one (%s)", p.name(), h.Model.Path, s.path)
		}
	}
	if s.dtype != "auto" && h.DType != s.dtype {
		return fmt.Errorf("%s computes in %s, the backend asks for dtype %s", p.name(), h.DType, s.dtype)
	}
	p.health = h
	return nil
}

// endpointURL joins the worker's base URL and an endpoint.
func (p *proc) endpointURL(e string) string { return strings.TrimRight(p.url, "/") + path.Clean("/"+e) }
