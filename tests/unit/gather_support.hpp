// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the gather tests (gather_test, gather_range_test, gather_settled_test).
#pragma once

#include <atomic>
#include <cstddef>
#include <exception>
#include <iterator>
#include <ranges>
#include <string>

#include "test_support.hpp"

namespace cohort_test {

// What an exception_ptr holds, for comparisons: the what() of a std::exception, "int:<v>"
// for an int, "?" otherwise.
inline std::string describe(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (int v) {
    return label("int:", v);
  } catch (...) {
    return "?";
  }
}

struct no_default {
  explicit no_default(int x) : v(x) {}
  no_default() = delete;
  int v;
};

// Counts live copies, to check that nothing a combinator held on to outlives it.
struct tracker {
  static inline std::atomic<int> live{0};
  tracker() noexcept { live.fetch_add(1); }
  tracker(const tracker&) noexcept { live.fetch_add(1); }
  tracker(tracker&&) noexcept { live.fetch_add(1); }
  tracker& operator=(const tracker&) = default;
  ~tracker() { live.fetch_sub(1); }
};

// A single-pass range that makes its elements as it goes (a generator): input_range only.
class counting_input {
 public:
  explicit counting_input(int n) : n_(n) {}
  class iterator {
   public:
    using iterator_concept = std::input_iterator_tag;
    using value_type = int;
    using difference_type = std::ptrdiff_t;
    iterator() = default;
    explicit iterator(counting_input* r) : r_(r) {}
    int operator*() const { return r_->cur_; }
    iterator& operator++() {
      ++r_->cur_;
      return *this;
    }
    void operator++(int) { ++*this; }
    bool operator==(std::default_sentinel_t) const { return r_->cur_ >= r_->n_; }

   private:
    counting_input* r_ = nullptr;
  };
  iterator begin() { return iterator(this); }
  std::default_sentinel_t end() const { return {}; }

 private:
  int n_;
  int cur_ = 0;
};
static_assert(std::ranges::input_range<counting_input>);
static_assert(!std::ranges::forward_range<counting_input>);

}  // namespace cohort_test
