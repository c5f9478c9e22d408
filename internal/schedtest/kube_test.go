package schedtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/evalctl/evalctl/harness"
	"github.com/evalctl/evalctl/harness/record"
)

// The fields of the Kubernetes API that the templates use, decoded
// strictly: a misspelt or misplaced field, or a value of the wrong type (a
// number where the API wants a string), fails the test. Without a cluster
// this is as far as the API's schema can be checked.
type (
	kubeObject struct {
		APIVersion string       `yaml:"apiVersion"`
		Kind       string       `yaml:"kind"`
		Metadata   kubeMetadata `yaml:"metadata"`
	}
	kubeMetadata struct {
		Name string `yaml:"name"`
	}
	kubePVC struct {
		APIVersion string       `yaml:"apiVersion"`
		Kind       string       `yaml:"kind"`
		Metadata   kubeMetadata `yaml:"metadata"`
		Spec       struct {
			AccessModes []string      `yaml:"accessModes"`
			Resources   kubeResources `yaml:"resources"`
		} `yaml:"spec"`
	}
	kubeJob struct {
		APIVersion string       `yaml:"apiVersion"`
		Kind       string       `yaml:"kind"`
		Metadata   kubeMetadata `yaml:"metadata"`
		Spec       struct {
			CompletionMode string `yaml:"completionMode"`
			Completions    *int   `yaml:"completions"`
			Parallelism    *int   `yaml:"parallelism"`
			BackoffLimit   *int   `yaml:"backoffLimit"`
			Template       struct {
				Spec kubePodSpec `yaml:"spec"`
			} `yaml:"template"`
		} `yaml:"spec"`
	}
	kubePodSpec struct {
		RestartPolicy string          `yaml:"restartPolicy"`
		Containers    []kubeContainer `yaml:"containers"`
		Volumes       []struct {
			Name                  string `yaml:"name"`
			PersistentVolumeClaim struct {
				ClaimName string `yaml:"claimName"`
			} `yaml:"persistentVolumeClaim"`
		} `yaml:"volumes"`
	}
	kubeContainer struct {
		Name    string   `yaml:"name"`
		Image   string   `yaml:"image"`
		Command []string `yaml:"command"`
		Args    []string `yaml:"args"`
		Env     []struct {
			Name  string `yaml:"name"`
			Value string `yaml:"value"`
		} `yaml:"env"`
		Resources    kubeResources `yaml:"resources"`
		VolumeMounts []struct {
			Name      string `yaml:"name"`
			MountPath string `yaml:"mountPath"`
		} `yaml:"volumeMounts"`
	}
	kubeResources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	}
)

var quantity = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?(m|k|M|G|T|Ki|Mi|Gi|Ti)?$`)

// kubeDocs splits a manifest into its documents and decodes each strictly
// into the type its kind asks for.
func kubeDocs(t *testing.T, path string) (pvcs []kubePVC, jobs []kubeJob) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(data), -1) {
		var head kubeObject
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			t.Fatalf("%s: document %d: %v", path, i, err)
		}
		strict := func(v any) {
			dec := yaml.NewDecoder(strings.NewReader(doc))
			dec.KnownFields(true)
			if err := dec.Decode(v); err != nil {
				t.Fatalf("%s: document %d (%s): %v", path, i, head.Kind, err)
			}
		}
		switch {
		case head.Kind == "PersistentVolumeClaim" && head.APIVersion == "v1":
			var p kubePVC
			strict(&p)
			pvcs = append(pvcs, p)
		case head.Kind == "Job" && head.APIVersion == "batch/v1":
			var j kubeJob
			strict(&j)
			jobs = append(jobs, j)
		default:
			t.Fatalf("%s: document %d: unexpected %s %s", path, i, head.APIVersion, head.Kind)
		}
	}
	return pvcs, jobs
}

// checkPod checks what the API server would reject in a Job's pod, and
// returns the container and the path where the claim is mounted.
func checkPod(t *testing.T, name string, pod kubePodSpec, claim string) (kubeContainer, string) {
	t.Helper()
	if pod.RestartPolicy != "OnFailure" && pod.RestartPolicy != "Never" {
		t.Errorf("%s: restartPolicy %q: a Job's pods need OnFailure or Never", name, pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%s: %d containers, want 1", name, len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Name == "" || c.Image == "" || len(c.Command) == 0 {
		t.Errorf("%s: container without name, image or command: %+v", name, c)
	}
	for what, rs := range map[string]map[string]string{"requests": c.Resources.Requests, "limits": c.Resources.Limits} {
		for k, v := range rs {
			if (k != "cpu" && k != "memory") || !quantity.MatchString(v) {
				t.Errorf("%s: resources.%s.%s: %q", name, what, k, v)
			}
		}
	}
	volumes := map[string]string{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = v.PersistentVolumeClaim.ClaimName
	}
	mount := ""
	for _, m := range c.VolumeMounts {
		if _, ok := volumes[m.Name]; !ok {
			t.Errorf("%s: volumeMount %q names no volume", name, m.Name)
		}
		if volumes[m.Name] == claim {
			mount = m.MountPath
		}
	}
	if mount == "" || !strings.HasPrefix(mount, "/") {
		t.Fatalf("%s: the claim %q is not mounted (volumes %v)", name, claim, volumes)
	}
	return c, mount
}

// envOf returns a container's environment as a map.
func envOf(c kubeContainer) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	return env
}

// expandKube expands $(VAR) references to the container's variables as
// Kubernetes does in command and args ($$ is a literal $; an undefined
// reference stays as written).
func expandKube(s string, env map[string]string) string {
	return regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)`).ReplaceAllStringFunc(s, func(m string) string {
		if m == "$$" {
			return "$"
		}
		if v, ok := env[m[2:len(m)-1]]; ok {
			return v
		}
		return m
	})
}

// local turns a path inside the pod's volume into the test's directory.
func local(arg, mount, dir string) string {
	if arg == mount {
		return dir
	}
	if strings.HasPrefix(arg, mount+"/") {
		return dir + arg[len(mount):]
	}
	return arg
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// cleanEnv is this process's environment without any scheduler's index.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "SLURM_") || k == harness.EnvK8sIndex || k == harness.EnvShardCount || k == "EVALCTL_RUN_ID" {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// TestKubernetesTemplates checks the Kubernetes manifests of docs/ as far
// as possible without a cluster: their structure, strictly, against the
// API's fields, the consistency between them (completions and
// EVALCTL_SHARD_COUNT, the claim, the run id), and then runs what their
// containers run, as written, with a real evalctl: every completion index
// of the Indexed Job (one restarted), then the merge Job's script, and
// checks the merge against one process running the whole suite.
func TestKubernetesTemplates(t *testing.T) {
	dir := filepath.Join("..", "..", "docs", "kubernetes")
	pvcs, jobs := kubeDocs(t, filepath.Join(dir, "evalctl-shards.yaml"))
	_, mergeJobs := kubeDocs(t, filepath.Join(dir, "evalctl-merge.yaml"))
	if len(pvcs) != 1 || len(jobs) != 1 || len(mergeJobs) != 1 {
		t.Fatalf("want one claim and one Job in evalctl-shards.yaml and one Job in evalctl-merge.yaml: %d, %d, %d", len(pvcs), len(jobs), len(mergeJobs))
	}
	pvc, job, mergeJob := pvcs[0], jobs[0], mergeJobs[0]
	if len(pvc.Spec.AccessModes) != 1 || pvc.Spec.AccessModes[0] != "ReadWriteMany" || !quantity.MatchString(pvc.Spec.Resources.Requests["storage"]) {
		t.Errorf("claim %s: every shard's pod mounts it: want ReadWriteMany and a storage request: %+v", pvc.Metadata.Name, pvc.Spec)
	}

	// The Indexed Job.
	js := job.Spec
	if js.CompletionMode != "Indexed" || js.Completions == nil || *js.Completions < 1 {
		t.Fatalf("job %s: completionMode %q, completions %v: want Indexed with completions", job.Metadata.Name, js.CompletionMode, js.Completions)
	}
	n := *js.Completions
	if js.Parallelism != nil && (*js.Parallelism < 1 || *js.Parallelism > n) {
		t.Errorf("job %s: parallelism %d with %d completions", job.Metadata.Name, *js.Parallelism, n)
	}
	c, mount := checkPod(t, job.Metadata.Name, js.Template.Spec, pvc.Metadata.Name)
	env := envOf(c)
	if env[harness.EnvShardCount] != strconv.Itoa(n) {
		t.Errorf("job %s: %s=%q but completions %d: they must agree", job.Metadata.Name, harness.EnvShardCount, env[harness.EnvShardCount], n)
	}
	argv := append(append([]string(nil), c.Command...), c.Args...)
	for i := range argv {
		argv[i] = expandKube(argv[i], env)
		if strings.Contains(argv[i], "$(") {
			t.Errorf("job %s: %q refers to a variable the container does not define", job.Metadata.Name, argv[i])
		}
	}
	if len(argv) < 3 || argv[0] != "evalctl" || argv[1] != "run" || !strings.Contains(strings.Join(argv, " "), "--shard auto") {
		t.Fatalf("job %s runs %q, want evalctl run SUITE --shard auto ...", job.Metadata.Name, argv)
	}
	suite := argv[2]

	// The merge Job.
	mc, mmount := checkPod(t, mergeJob.Metadata.Name, mergeJob.Spec.Template.Spec, pvc.Metadata.Name)
	menv := envOf(mc)
	if menv["EVALCTL_RUN_ID"] != env["EVALCTL_RUN_ID"] || env["EVALCTL_RUN_ID"] == "" {
		t.Errorf("run ids differ: shards %q, merge %q", env["EVALCTL_RUN_ID"], menv["EVALCTL_RUN_ID"])
	}

	// Run the containers' commands as written, with a real evalctl on PATH
	// and the claim as a local directory.
	work := t.TempDir()
	bin := filepath.Dir(evalctlBinary(t))
	results := filepath.Join(work, "results")
	os.MkdirAll(results, 0o755)
	path := "PATH=" + bin + string(os.PathListSeparator) + os.Getenv("PATH")
	run := func(argv []string, env map[string]string, extra ...string) string {
		t.Helper()
		prog := argv[0]
		if p := filepath.Join(bin, prog); !strings.Contains(prog, "/") && fileExists(p) {
			prog = p // as the pod's PATH finds it
		}
		cmd := exec.Command(prog, argv[1:]...)
		cmd.Env = append(cleanEnv(), path)
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		cmd.Env = append(cmd.Env, extra...)
		cmd.Dir = work
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%q: %v\n%s", argv, err, out.String())
		}
		t.Logf("%s %s: %s", argv[0], argv[1], time.Since(start).Round(time.Millisecond))
		return out.String()
	}
	shardArgv := make([]string, len(argv))
	for i, a := range argv {
		shardArgv[i] = local(a, mount, results)
	}
	for i := range n {
		out := run(shardArgv, env, fmt.Sprintf("%s=%d", harness.EnvK8sIndex, i))
		if want := fmt.Sprintf("shard %d/%d (Kubernetes JOB_COMPLETION_INDEX=%d", i+1, n, i); !strings.Contains(out, want) {
			t.Errorf("index %d: output lacks %q:\n%s", i, want, out)
		}
	}
	// A restarted container of index 1 finds its shard done.
	if out := run(shardArgv, env, harness.EnvK8sIndex+"=1"); !strings.Contains(out, "0 cells done this session") {
		t.Errorf("restarted index 1:\n%s", out)
	}
	margv := append(append([]string(nil), mc.Command...), mc.Args...)
	for i := range margv {
		margv[i] = strings.ReplaceAll(expandKube(margv[i], menv), mmount, results)
	}
	t.Logf("merge: %s", run(margv, menv))

	runDir := filepath.Join(results, env["EVALCTL_RUN_ID"])
	merged, bad, err := record.ReadRun(filepath.Join(runDir, "merged.jsonl.zst"))
	if err != nil || len(bad) > 0 {
		t.Fatalf("merged records: %v %v", err, bad)
	}
	if _, err := os.Stat(filepath.Join(runDir, "report", "report.md")); err != nil {
		t.Errorf("the merge Job wrote no report: %v", err)
	}
	if suite != "smoke" {
		t.Fatalf("the Job runs suite %q; this test compares with the smoke suite", suite)
	}
	sameCells(t, smokeReference(t), merged)
}
