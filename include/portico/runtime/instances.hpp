#pragma once
// Finding the Portico processes that run on a policy directory, for `portico --reload DIR`:
// an operator (or `docker compose exec`) asks for a reload by naming the policies, not a PID.

#include <sys/types.h>

#include <string>
#include <vector>

namespace portico::runtime {

/// PIDs of the processes whose executable is named `portico` and whose command line is
/// `--policies D` with D the same directory as `policy_dir` (after resolving symlinks), the
/// calling process excluded. Reads /proc; returns none where it cannot.
std::vector<pid_t> find_instances(const std::string& policy_dir);

}  // namespace portico::runtime
