#include "portico/runtime/cpu_affinity.hpp"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace portico::runtime {

std::vector<int> usable_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (pthread_getaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
    return out;
  }
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) {
      out.push_back(cpu);
    }
  }
  return out;
}

bool pin_current_thread(int cpu, std::string& why) {
  if (cpu < 0 || cpu >= CPU_SETSIZE) {
    why = "no such CPU";
    return false;
  }
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  const int rc = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
  if (rc != 0) {
    why = std::strerror(rc);
    return false;
  }
  return true;
}

std::string current_thread_cpus() {
  std::string out;
  const std::vector<int> cpus = usable_cpus();
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) {
      ++j;
    }
    if (!out.empty()) {
      out += ',';
    }
    out += std::to_string(cpus[i]);
    if (j > i) {
      out += '-';
      out += std::to_string(cpus[j]);
    }
    i = j + 1;
  }
  return out;
}

void name_current_thread(std::string_view name) {
  char buf[16] = {};
  std::memcpy(buf, name.data(), std::min(name.size(), sizeof(buf) - 1));
  pthread_setname_np(pthread_self(), buf);
}

}  // namespace portico::runtime
