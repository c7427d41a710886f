// The metric tables: the rows sum and sample the field they name, and the tables together
// describe well-formed families (one help and type per name, distinct label sets, no field
// counted twice).

#include "../../../src/runtime/metric_tables.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace portico::runtime::metric_tables {
namespace {

TEST(MetricTables, RowsSumAndSampleTheirFields) {
  InboundStats total;
  InboundStats a;
  a.messages = 3;
  a.invalid = 1;
  a.dropped = 2;
  InboundStats b;
  b.messages = 4;
  b.dropped = 5;
  sum_rows(total, a, kInboundRows);
  sum_rows(total, b, kInboundRows);
  EXPECT_EQ(total.messages, 7u);
  EXPECT_EQ(total.invalid, 1u);
  EXPECT_EQ(total.dropped, 7u);  // summed although only a derived metric shows it

  std::vector<Sample> out;
  sample_rows(out, total, kInboundRows);
  ASSERT_EQ(out.size(), kInboundRows.size() - 1);  // the nameless row is not a sample
  EXPECT_EQ(out[0].name, "portico_sip_messages_received_total");
  EXPECT_EQ(out[0].value, 7);
  EXPECT_EQ(out[2].labels, (Labels{{"reason", "invalid"}}));
  EXPECT_EQ(out[2].value, 1);
}

TEST(MetricTables, KeyLabelsComeBeforeTheRowsOwn) {
  b2bua::RealmMediaStats r;
  r.packets_sent = 9;
  std::vector<Sample> out;
  sample_rows(out, r, kRealmMediaRows, {{"realm", "access"}});
  ASSERT_EQ(out.size(), kRealmMediaRows.size());
  EXPECT_EQ(out[1].labels, (Labels{{"realm", "access"}, {"direction", "out"}}));
  EXPECT_EQ(out[1].value, 9);
}

struct Family {
  std::string help;
  Type type;
  std::set<Labels> label_sets;
};

template <class S>
void check(std::map<std::string, Family>& families, const Table<S>& rows) {
  std::vector<std::uint64_t S::*> fields;  // member pointers compare equal, not less
  for (const auto& r : rows) {
    EXPECT_EQ(std::find(fields.begin(), fields.end(), r.field), fields.end())
        << "a field counted twice in " << (r.name ? r.name : "(summed only)");
    fields.push_back(r.field);
    if (r.name == nullptr) {
      continue;
    }
    const std::string name = r.name;
    EXPECT_EQ(name.rfind("portico_", 0), 0u) << name;
    auto [it, fresh] = families.emplace(name, Family{r.help, r.type, {}});
    EXPECT_EQ(it->second.help, r.help) << name;
    EXPECT_EQ(it->second.type, r.type) << name;
    EXPECT_TRUE(it->second.label_sets.insert(r.labels).second) << name << ": same labels twice";
  }
}

TEST(MetricTables, FamiliesAreWellFormed) {
  std::map<std::string, Family> families;
  for_each_table([&](const auto& rows, auto, Shown) { check(families, rows); });
  check(families, kRealmMediaRows);
  check(families, kTraceWriterRows);
  check(families, kCdrRows);
  EXPECT_GE(families.size(), 30u);
}

}  // namespace
}  // namespace portico::runtime::metric_tables
