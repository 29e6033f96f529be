// SPDX-License-Identifier: Apache-2.0
// Where threads sleep while they wait for something to complete (a task, a gather child,
// a group's last child), keyed by the address of the thing's atomic word.
//
// Why a global table rather than a waiter list in each task: the completer must never
// touch the completed object after publishing completion, because the waiter may free it
// the moment it sees "done" (a gather child lives on its caller's frame). Here the
// completer only touches the word (its exchange) and then this table, which lives
// forever; records are unlinked under the bucket lock before being woken, so a waiter
// that finds itself unlinked knows the waker is finished with its record.
//
// The protocol (a Dekker argument, made simple by the bucket lock):
//   waiter:    lock bucket; announce (e.g. set waiters_bit) and re-check done; enqueue;
//              unlock; sleep.
//   completer: publish done; if it saw the announcement, lock bucket and wake every
//              record with the key.
// Either the announcement precedes the publication (the completer sees it and takes the
// lock after the waiter enqueued), or the waiter's re-check sees done.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "intrusive_list.hpp"

namespace cohort::detail {

struct park_record {
  const void* key = nullptr;
  park_record* prev = nullptr;
  park_record* next = nullptr;
  bool queued = false;  // guarded by the bucket lock
  // Called under the bucket lock, after the record was unlinked.
  void (*wake)(park_record*) noexcept = nullptr;
};

// One parking-lot record per key of a wait; a single key (the common case) needs no
// allocation.
template <class Record>
class park_records {
 public:
  explicit park_records(std::size_t keys)
      : many_(keys > 1 ? std::make_unique<Record[]>(keys) : nullptr), size_(keys > 1 ? keys : 1) {}
  Record* data() noexcept { return many_ ? many_.get() : &one_; }
  Record* begin() noexcept { return data(); }
  Record* end() noexcept { return data() + size_; }

 private:
  Record one_;
  std::unique_ptr<Record[]> many_;
  std::size_t size_;
};

class parking_lot {
 public:
  // Under the bucket lock: calls announce(); if it returns true (still not done), links
  // `r` and returns true. The caller then sleeps in its own way and later calls
  // leave(r).
  template <class Announce>
  static bool enter(const void* key, park_record& r, Announce&& announce) {
    bucket& b = bucket_for(key);
    std::lock_guard lock(b.mutex);
    if (!announce()) return false;
    r.key = key;
    link(b, r);
    return true;
  }
  // Unlinks `r` if no waker did; returns true if a waker had unlinked it (woken).
  static bool leave(park_record& r) noexcept;
  // Parks records[i] under every key i of `t` (records has t.key_count() entries).
  // Returns false, with nothing left parked, if some key announced it is done already.
  template <class Target, class Record>
  static bool enter_all(Target& t, Record* records) {
    const std::size_t n = t.key_count();
    for (std::size_t i = 0; i < n; ++i) {
      if (!enter(t.key(i), records[i], [&] { return t.announce(i); })) {
        for (std::size_t k = 0; k < i; ++k) leave(records[k]);
        return false;
      }
    }
    return true;
  }
  template <class Target, class Record>
  static void leave_all(Target& t, Record* records) noexcept {
    for (std::size_t i = 0; i < t.key_count(); ++i) leave(records[i]);
  }
  // Wakes every record parked on `key`.
  static void unpark_all(const void* key) noexcept;

 private:
  struct alignas(64) bucket {
    std::mutex mutex;
    intrusive_list<park_record, &park_record::prev, &park_record::next> records;
  };
  static bucket& bucket_for(const void* key) noexcept;
  static void link(bucket& b, park_record& r) noexcept;
};

}  // namespace cohort::detail
