#include "portico/runtime/instances.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace portico::runtime {
namespace {

namespace fs = std::filesystem;

std::string canonical_or_empty(const fs::path& p) {
  std::error_code ec;
  fs::path c = fs::canonical(p, ec);
  return ec ? std::string() : c.string();
}

std::vector<std::string> command_line(const fs::path& proc) {
  std::ifstream in(proc / "cmdline", std::ios::binary);
  std::string raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::size_t start = 0;
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\0') {
      args.push_back(raw.substr(start, i - start));
      start = i + 1;
    }
  }
  return args;
}

}  // namespace

std::vector<pid_t> find_instances(const std::string& policy_dir) {
  std::vector<pid_t> out;
  const std::string wanted = canonical_or_empty(policy_dir);
  if (wanted.empty()) {
    return out;
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    char* end = nullptr;
    const long pid = std::strtol(name.c_str(), &end, 10);
    if (end == name.c_str() || *end != '\0' || pid == static_cast<long>(getpid())) {
      continue;
    }
    std::error_code link_ec;
    if (fs::read_symlink(entry.path() / "exe", link_ec).filename() != "portico" || link_ec) {
      continue;  // not ours to signal (or gone)
    }
    const auto args = command_line(entry.path());
    for (std::size_t i = 1; i + 1 < args.size(); ++i) {
      if (args[i] != "--policies") {
        continue;
      }
      fs::path dir = args[i + 1];
      if (dir.is_relative()) {  // relative to that process's working directory, not ours
        std::error_code cwd_ec;
        const fs::path cwd = fs::read_symlink(entry.path() / "cwd", cwd_ec);
        if (cwd_ec) {
          break;  // cannot tell where it runs: not a match
        }
        dir = cwd / dir;
      }
      if (canonical_or_empty(dir) == wanted) {
        out.push_back(static_cast<pid_t>(pid));
        break;
      }
    }
  }
  return out;
}

}  // namespace portico::runtime
