// SPDX-License-Identifier: Apache-2.0
#pragma once
// iterator_index: the iterators of a forward range, collected once, indexed like an array
// whose elements are the range's elements (no copies). gather() uses it to split a range
// that is not random access.
//
// Why not std::views::transform over a std::vector of iterators: clang 14 cannot
// instantiate libstdc++ 12's view_interface (every std::views view fails to compile there,
// std::views::iota included), and cohort supports clang 14 with libstdc++.

#include <cstddef>
#include <iterator>
#include <ranges>
#include <vector>

namespace cohort::detail {

template <class It>
class iterator_index {
 public:
  explicit iterator_index(std::vector<It> its) noexcept : its_(std::move(its)) {}

  // A random-access iterator over the collected iterators that dereferences twice.
  class cursor {
   public:
    using iterator_concept = std::random_access_iterator_tag;
    using iterator_category = std::random_access_iterator_tag;
    using value_type = std::iter_value_t<It>;
    using difference_type = std::ptrdiff_t;
    cursor() = default;
    explicit cursor(const It* at) noexcept : at_(at) {}
    decltype(auto) operator*() const { return **at_; }
    decltype(auto) operator[](difference_type i) const { return *at_[i]; }
    cursor& operator++() {
      ++at_;
      return *this;
    }
    cursor operator++(int) { return cursor(at_++); }
    cursor& operator--() {
      --at_;
      return *this;
    }
    cursor operator--(int) { return cursor(at_--); }
    cursor& operator+=(difference_type n) {
      at_ += n;
      return *this;
    }
    cursor& operator-=(difference_type n) {
      at_ -= n;
      return *this;
    }
    friend cursor operator+(cursor c, difference_type n) { return c += n; }
    friend cursor operator+(difference_type n, cursor c) { return c += n; }
    friend cursor operator-(cursor c, difference_type n) { return c -= n; }
    friend difference_type operator-(cursor a, cursor b) { return a.at_ - b.at_; }
    friend auto operator<=>(cursor a, cursor b) = default;

   private:
    const It* at_ = nullptr;
  };

  cursor begin() const noexcept { return cursor(its_.data()); }
  cursor end() const noexcept { return cursor(its_.data() + its_.size()); }
  std::size_t size() const noexcept { return its_.size(); }

 private:
  std::vector<It> its_;
};

}  // namespace cohort::detail
