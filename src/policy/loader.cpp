// Loading a policy: gather the files, parse each into the shared draft, validate the merged
// result, and only then build the immutable snapshot. Any diagnostic means no snapshot at all
// (all-or-nothing, so a reload never half-applies).

#include "portico/policy/loader.hpp"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include "policy_draft.hpp"
#include "portico/common/strings.hpp"

namespace portico::policy {

namespace {

namespace fs = std::filesystem;
using detail::Diagnostics;
using detail::PolicyDraft;

struct SourceText {
  std::string name;       // as shown in diagnostics: the path the user gave, joined
  std::string hash_name;  // stable across how the directory was named: relative to it
  std::string text;
};

// The hash identifies the policy's content (a metric label, a log field on reload), so it is
// over names relative to the policy directory and the exact texts, in load order.
std::string content_hash(const std::vector<SourceText>& files) {
  std::string all;
  for (const auto& f : files) {
    all += f.hash_name;
    all.push_back('\0');
    all += f.text;
    all.push_back('\0');
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(stable_hash(all)));
  return hex;
}

template <class Draft, class T>
std::vector<T> take_sorted(std::map<std::string, Draft>& drafts, T Draft::*member) {
  std::vector<T> out;
  out.reserve(drafts.size());
  for (auto& [name, d] : drafts) {  // std::map: already in name order
    out.push_back(std::move(d.*member));
  }
  return out;
}

std::shared_ptr<const PolicySnapshot> build(PolicyDraft& d, const std::vector<SourceText>& files) {
  auto snap = std::make_shared<PolicySnapshot>();
  snap->server = std::move(d.server);
  snap->timers = d.timers;
  snap->limits = d.limits;
  snap->headers = std::move(d.headers);
  snap->metrics = d.metrics;
  snap->cdr = d.cdr;
  snap->traces = d.traces;
  snap->registration = d.registration;
  snap->rate_limits = d.rate_limits;
  snap->ingress = d.ingress;
  if (d.peers.count(d.registration.registrar) != 0) {
    snap->registration.registrar_kind = PeerKind::AccessPeer;
  }
  snap->realms = take_sorted(d.realms, &detail::RealmDraft::realm);
  snap->trunks = take_sorted(d.trunks, &detail::TrunkDraft::trunk);
  snap->access_peers = take_sorted(d.peers, &detail::PeerDraft::peer);
  for (auto& r : d.routes) {
    snap->routes.push_back(std::move(r.route));
  }
  snap->hash = content_hash(files);
  return snap;
}

// yaml-cpp 0.7's LoadAll never returns on a ',' where a document should start (a file that
// begins with one): its parser reports an empty document without consuming the token, again
// and again, allocating a node each time (jbeder/yaml-cpp#1040). This pass walks the documents
// without building them and refuses a document that starts where the previous one did.
class StalledDocumentCheck : public YAML::EventHandler {
 public:
  explicit StalledDocumentCheck(const std::string& text) : text_(text) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    if (started_ && mark.pos == previous_.pos) {
      const auto at = static_cast<std::size_t>(mark.pos);
      throw YAML::ParserException(mark, at < text_.size()
                                            ? "unexpected '" + text_.substr(at, 1) + "'"
                                            : "unexpected token");
    }
    started_ = true;
    previous_ = mark;
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}

 private:
  const std::string& text_;
  bool started_ = false;
  YAML::Mark previous_;
};

// Throws YAML::ParserException where LoadAll would loop forever.
void refuse_stalled_documents(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  StalledDocumentCheck check(text);
  while (parser.HandleNextDocument(check)) {
  }
}

std::shared_ptr<const PolicySnapshot> compile(std::vector<SourceText> files) {
  std::sort(files.begin(), files.end(),
            [](const SourceText& a, const SourceText& b) { return a.name < b.name; });
  Diagnostics diags;
  PolicyDraft draft;
  bool all_parsed = true;
  for (const auto& f : files) {
    detail::Reader reader(f.name, diags);
    std::vector<YAML::Node> docs;
    try {
      refuse_stalled_documents(f.text);
      docs = YAML::LoadAll(f.text);
    } catch (const YAML::Exception& e) {
      const SourceLoc loc = e.mark.is_null()
                                ? SourceLoc{f.name, 1, 1}
                                : SourceLoc{f.name, e.mark.line + 1, e.mark.column + 1};
      diags.add(loc, "", "YAML syntax error: " + e.msg);
      all_parsed = false;
      continue;  // the other files are still checked
    }
    if (docs.empty()) {
      continue;  // an empty file contributes nothing
    }
    // YAML::Load would silently drop everything after a "---": refuse it instead.
    if (docs.size() > 1) {
      diags.add(reader.loc_of(docs[1], SourceLoc{f.name, 1, 1}), "",
                "a policy file holds one YAML document; split this one into two files");
    }
    detail::parse_document(reader, docs.front(), draft);
  }
  // Cross-references over a policy with an unreadable file would only report its absence
  // ("unknown trunk", "no realm") as noise around the one real error.
  if (all_parsed) {
    detail::validate(draft, files.front().name, diags);
  }
  if (!diags.empty()) {
    throw ConfigError(diags.take_sorted());
  }
  return build(draft, files);
}

[[noreturn]] void fail(const std::string& file, const std::string& message) {
  throw ConfigError({Diagnostic{SourceLoc{file, 0, 0}, "", message}});
}

SourceText read_file(const fs::path& p, const fs::path& base) {
  std::ifstream in(p, std::ios::binary);
  if (!in.is_open()) {
    fail(p.string(), "cannot open file");
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) {
    fail(p.string(), "cannot read file");
  }
  return SourceText{p.string(), p.lexically_relative(base).generic_string(), text.str()};
}

bool hidden(const fs::path& p) {
  const std::string name = p.filename().string();
  return !name.empty() && name.front() == '.';
}

std::vector<SourceText> read_directory(const fs::path& dir) {
  std::vector<SourceText> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, ec);
  if (ec) {
    fail(dir.string(), "cannot read directory: " + ec.message());
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Editor and VCS droppings (.git/, .#file.yaml) are never policy.
    if (hidden(it->path())) {
      if (it->is_directory()) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (it->is_regular_file() && it->path().extension() == ".yaml") {
      files.push_back(read_file(it->path(), dir));
    }
  }
  if (ec) {
    fail(dir.string(), "cannot read directory: " + ec.message());
  }
  return files;
}

}  // namespace

std::shared_ptr<const PolicySnapshot> load_policy(const std::string& path) {
  const fs::path p(path);
  std::error_code ec;
  const auto status = fs::status(p, ec);
  if (ec || !fs::exists(status)) {
    fail(path, "no such file or directory");
  }
  std::vector<SourceText> files;
  if (fs::is_directory(status)) {
    files = read_directory(p);
  } else {
    files.push_back(read_file(p, p.parent_path()));
  }
  if (files.empty()) {
    fail(path, "no *.yaml policy files found");
  }
  return compile(std::move(files));
}

std::shared_ptr<const PolicySnapshot> load_policy_texts(
    const std::vector<std::pair<std::string, std::string>>& files) {
  std::vector<SourceText> sources;
  for (const auto& [name, text] : files) {
    sources.push_back(SourceText{name, name, text});
  }
  if (sources.empty()) {
    fail("", "no policy files given");
  }
  return compile(std::move(sources));
}

}  // namespace portico::policy
