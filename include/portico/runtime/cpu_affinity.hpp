#pragma once
// Shard threads and CPUs. A shard that stays on one CPU keeps its caches and its ring warm
// between wake-ups; left to the scheduler, the shards of a busy relay migrate thousands of
// times a second (docs/performance.md). Only the CPUs the process may use count (a container's
// cpuset, taskset), so Portico never asks for a CPU it was not given.

#include <string>
#include <string_view>
#include <vector>

namespace portico::runtime {

/// The CPUs the calling thread may run on, ascending; empty if the kernel will not say.
std::vector<int> usable_cpus();

/// Restricts the calling thread to `cpu`. False (with `why`) if the kernel refuses.
bool pin_current_thread(int cpu, std::string& why);

/// The CPUs the calling thread may run on, in the kernel's list form ("0-3,6"), or "".
std::string current_thread_cpus();

/// Names the calling thread (`top -H`, `ps -L`, /proc/PID/task/TID/comm); at most 15 bytes kept.
void name_current_thread(std::string_view name);

}  // namespace portico::runtime
