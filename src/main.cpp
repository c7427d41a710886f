// Composition root: parses the command line, loads the policy, and runs the server.

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <string>
#include <system_error>

#include "portico/common/log.hpp"
#include "portico/media/srtp_transform.hpp"
#include "portico/policy/loader.hpp"
#include "portico/runtime/instances.hpp"
#include "portico/runtime/server.hpp"
#include "portico/sip/message.hpp"

namespace {

constexpr const char* kUsage =
    "Usage: portico --policies DIR     run on the policy files in DIR\n"
    "       portico --check DIR        validate the policy files in DIR and exit (0 ok, 1 bad)\n"
    "       portico --reload DIR       validate DIR, then make the Portico running on it reload\n"
    "                                  (0 sent, 1 bad policy, 3 no Portico runs on DIR)\n"
    "       portico --version          print the version\n"
    "       portico --help             this text\n"
    "\n"
    "Signals: SIGTERM/SIGINT stop (calls are ended with BYE/CANCEL), SIGHUP reloads the\n"
    "policy (all or nothing), SIGUSR1 logs the state of every shard.\n";

int check(const std::string& dir) {
  try {
    auto p = portico::policy::load_policy(dir);
    std::printf("%s: ok (%zu realms, %zu trunks, %zu access peers, %zu routes)\n", dir.c_str(),
                p->realms.size(), p->trunks.size(), p->access_peers.size(), p->routes.size());
    return 0;
  } catch (const portico::policy::ConfigError& e) {
    for (const auto& d : e.diagnostics()) {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
    std::fprintf(stderr, "%s: %zu error(s)\n", dir.c_str(), e.diagnostics().size());
    return 1;
  }
}

// Validates first, so a bad edit is reported here, at the operator's terminal, and the
// running Portico is never asked to load it.
int reload(const std::string& dir) {
  if (int rc = check(dir); rc != 0) {
    std::fprintf(stderr, "portico: reload not requested\n");
    return rc;
  }
  const auto pids = portico::runtime::find_instances(dir);
  if (pids.empty()) {
    std::fprintf(stderr, "portico: no running Portico uses %s\n", dir.c_str());
    return 3;
  }
  for (pid_t pid : pids) {
    if (::kill(pid, SIGHUP) != 0) {
      std::fprintf(stderr, "portico: pid %d: %s\n", static_cast<int>(pid), std::strerror(errno));
      return 3;
    }
    std::printf("portico: reload requested from pid %d; its log says event=policy.reloaded or "
                "event=policy.reload_failed\n", static_cast<int>(pid));
  }
  return 0;
}

int run(const std::string& dir) {
  std::shared_ptr<const portico::policy::PolicySnapshot> policy;
  try {
    policy = portico::policy::load_policy(dir);
  } catch (const portico::policy::ConfigError& e) {
    for (const auto& d : e.diagnostics()) {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
    std::fprintf(stderr, "portico: not started: %zu policy error(s)\n", e.diagnostics().size());
    return 2;
  }
  portico::log::Level level = portico::log::Level::Info;
  portico::log::parse_level(policy->server.log_level, level);
  portico::log::set_level(level);
  portico::sip::init_parser();
  try {
    portico::media::init_srtp();
    portico::runtime::Server server(dir, policy, PORTICO_VERSION);
    return server.run();
  } catch (const std::runtime_error& e) {  // std::system_error too
    portico::log::error("portico.start_failed", {{"detail", e.what()}});
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 2 && (std::strcmp(argv[1], "--version") == 0 || std::strcmp(argv[1], "-V") == 0)) {
    std::printf("portico %s\n", PORTICO_VERSION);
    return 0;
  }
  if (argc == 2 && (std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0)) {
    std::fputs(kUsage, stdout);
    return 0;
  }
  if (argc == 3 && std::strcmp(argv[1], "--check") == 0) {
    return check(argv[2]);
  }
  if (argc == 3 && std::strcmp(argv[1], "--reload") == 0) {
    return reload(argv[2]);
  }
  if (argc == 3 && std::strcmp(argv[1], "--policies") == 0) {
    return run(argv[2]);
  }
  std::fputs(kUsage, stderr);
  return 64;  // EX_USAGE
}
