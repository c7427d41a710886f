#pragma once
// Result<T>: the return type of fallible functions on shard threads, where nothing throws.
// GCC 12 has std::expected only in C++23 mode, so this is a small variant-based stand-in.

#include <string>
#include <utility>
#include <variant>

namespace portico {

/// A failure classified where it happened. `reason` is a stable token (a metric label, a log
/// field, a CDR field); `detail` is the human sentence for logs.
struct Error {
  std::string reason;
  std::string detail;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT: implicit by design

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

inline Error make_error(std::string reason, std::string detail = {}) {
  return Error{std::move(reason), std::move(detail)};
}

}  // namespace portico
