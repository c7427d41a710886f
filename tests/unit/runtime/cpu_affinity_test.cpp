#include "portico/runtime/cpu_affinity.hpp"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <thread>

#include <sys/syscall.h>
#include <unistd.h>

namespace portico::runtime::test {
namespace {

// What the kernel says about the calling thread, as an operator would read it.
std::string proc_status_field(const std::string& key) {
  std::ifstream in("/proc/thread-self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) == 0) {
      const auto at = line.find_first_not_of(" \t", key.size() + 1);
      return at == std::string::npos ? "" : line.substr(at);
    }
  }
  return "";
}

TEST(CpuAffinity, UsableCpusMatchWhatTheKernelAllows) {
  const std::vector<int> cpus = usable_cpus();
  ASSERT_FALSE(cpus.empty());
  EXPECT_EQ(current_thread_cpus(), proc_status_field("Cpus_allowed_list"));
}

TEST(CpuAffinity, PinnedThreadRunsOnlyOnItsCpuAndOthersStayFree) {
  const std::vector<int> cpus = usable_cpus();
  ASSERT_FALSE(cpus.empty());
  const int target = cpus.back();
  std::string why;
  std::string pinned_list;
  int ran_on = -1;
  bool ok = false;
  std::thread t([&] {
    name_current_thread("portico-test-pin-long-name");
    ok = pin_current_thread(target, why);
    pinned_list = proc_status_field("Cpus_allowed_list");
    for (int i = 0; i < 100; ++i) {
      std::this_thread::yield();  // give the scheduler chances to move it
    }
    ran_on = sched_getcpu();
  });
  t.join();
  ASSERT_TRUE(ok) << why;
  EXPECT_EQ(pinned_list, std::to_string(target));
  EXPECT_EQ(ran_on, target);
  // Pinning a new thread leaves the caller's own CPUs alone.
  EXPECT_EQ(usable_cpus(), cpus);
}

TEST(CpuAffinity, NamesTheThreadAsPsShowsIt) {
  std::string name;
  std::thread t([&] {
    name_current_thread("portico-shard12-and-more");
    name = proc_status_field("Name");
  });
  t.join();
  EXPECT_EQ(name, "portico-shard12");  // the kernel keeps 15 bytes
}

TEST(CpuAffinity, RefusesACpuThatDoesNotExist) {
  std::string why;
  std::thread t([&] { EXPECT_FALSE(pin_current_thread(-1, why)); });
  t.join();
  EXPECT_FALSE(why.empty());
}

}  // namespace
}  // namespace portico::runtime::test
