package schedtest

import (
	"strings"
	"testing"
)

func TestParseJobs(t *testing.T) {
	out := "JobId=12 ArrayJobId=11 ArrayTaskId=2 JobName=evalctl UserId=root(0) JobState=COMPLETED Reason=None Dependency=(null) Requeue=1 Restarts=1 BatchFlag=1 ExitCode=0:0 TresPerNode=gres:gpu:1\n" +
		"JobId=13 ArrayJobId=11 ArrayTaskId=3 JobState=PENDING Reason=BeginTime Restarts=0 ExitCode=0:0\n" +
		"\n  garbage without fields\nNoJobId=1\n"
	jobs := ParseJobs(out)
	if len(jobs) != 2 {
		t.Fatalf("%d jobs: %+v", len(jobs), jobs)
	}
	j := jobs[0]
	if j.ID != "12" || j.ArrayJobID != "11" || j.ArrayTaskID != "2" || j.State != "COMPLETED" || j.ExitCode != "0:0" || j.Restarts != 1 || j.Reason != "None" || j.Fields["TresPerNode"] != "gres:gpu:1" {
		t.Errorf("job %+v", j)
	}
	if jobs[1].State != "PENDING" || jobs[1].Reason != "BeginTime" || jobs[1].Restarts != 0 {
		t.Errorf("job %+v", jobs[1])
	}
}

// FuzzParseJobs: any output parses without panicking, and every job it
// returns has an id.
func FuzzParseJobs(f *testing.F) {
	f.Add("JobId=1 ArrayJobId=1 ArrayTaskId=1 JobState=RUNNING Restarts=2 ExitCode=0:0\n")
	f.Add("JobId= JobId=3 Restarts=x\n\n=\n")
	f.Fuzz(func(t *testing.T, out string) {
		for _, j := range ParseJobs(out) {
			if j.ID == "" || strings.ContainsAny(j.ID, " \n") {
				t.Fatalf("job without a proper id: %+v", j)
			}
		}
	})
}
