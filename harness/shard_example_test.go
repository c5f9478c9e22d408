package harness_test

import (
	"fmt"

	"github.com/evalctl/evalctl/harness"
)

// --shard auto under a Slurm array submitted with --array=0-3: task 2 is
// the third of four shards; under a Kubernetes Indexed Job the count
// comes from --shard-count or EVALCTL_SHARD_COUNT.
func ExampleShardFromEnv() {
	slurm := map[string]string{
		"SLURM_ARRAY_TASK_ID": "2", "SLURM_ARRAY_TASK_MIN": "0", "SLURM_ARRAY_TASK_MAX": "3", "SLURM_ARRAY_TASK_COUNT": "4",
	}
	sh, from, _ := harness.ShardFromEnv(0, func(k string) string { return slurm[k] })
	fmt.Println(sh, "from", from)
	fmt.Println(harness.ShardDir("results", "sweep", sh))

	kube := map[string]string{"JOB_COMPLETION_INDEX": "0", "EVALCTL_SHARD_COUNT": "4"}
	sh, _, _ = harness.ShardFromEnv(0, func(k string) string { return kube[k] })
	fmt.Println(sh)
	_, _, err := harness.ShardFromEnv(0, func(string) string { return "" })
	fmt.Println(err)
	// Output:
	// 3/4 from Slurm array task SLURM_ARRAY_TASK_ID=2 of 4
	// results/sweep/shard-3-of-4
	// 1/4
	// --shard auto: no scheduler index in the environment (SLURM_ARRAY_TASK_ID of a Slurm array job, JOB_COMPLETION_INDEX of a Kubernetes Indexed Job); outside a scheduler give --shard i/n
}
