#include "input.hpp"

#include <cstdlib>
#include <deque>

namespace cohort_run {
namespace {

class argument_product final : public input_source {
 public:
  explicit argument_product(std::vector<std::vector<std::string>> sources)
      : sources_(std::move(sources)), position_(sources_.size(), 0) {
    for (const auto& s : sources_)
      if (s.empty()) done_ = true;   // an empty source: no combination at all
  }
  bool next(std::vector<std::string>& args) override {
    if (done_) return false;
    args.resize(sources_.size());
    for (std::size_t i = 0; i < sources_.size(); ++i) args[i] = sources_[i][position_[i]];
    // Odometer: the last source turns fastest.
    std::size_t i = sources_.size();
    while (i > 0) {
      --i;
      if (++position_[i] < sources_[i].size()) return true;
      position_[i] = 0;
    }
    done_ = true;
    return true;
  }
  std::optional<std::size_t> total() const override {
    std::size_t n = 1;
    for (const auto& s : sources_) n *= s.size();
    return n;
  }
  std::size_t sources() const override { return sources_.size(); }

 private:
  std::vector<std::vector<std::string>> sources_;
  std::vector<std::size_t> position_;
  bool done_ = false;
};

class stream_lines final : public input_source {
 public:
  stream_lines(std::FILE* in, char delimiter, bool read_ahead) : in_(in), delimiter_(delimiter) {
    if (read_ahead) {
      std::string line;
      while (read_one(line)) ahead_.push_back(std::move(line));
      total_ = ahead_.size();
    }
  }
  ~stream_lines() override { std::free(buffer_); }
  bool next(std::vector<std::string>& args) override {
    args.resize(1);
    if (total_) {
      if (ahead_.empty()) return false;
      args[0] = std::move(ahead_.front());
      ahead_.pop_front();
      return true;
    }
    return read_one(args[0]);
  }
  std::optional<std::size_t> total() const override { return total_; }
  std::size_t sources() const override { return 1; }

 private:
  bool read_one(std::string& out) {
    const ssize_t n = ::getdelim(&buffer_, &capacity_, delimiter_, in_);
    if (n < 0) return false;
    std::size_t len = static_cast<std::size_t>(n);
    if (len > 0 && buffer_[len - 1] == delimiter_) --len;
    out.assign(buffer_, len);
    return true;
  }
  std::FILE* in_;
  char delimiter_;
  char* buffer_ = nullptr;
  std::size_t capacity_ = 0;
  std::deque<std::string> ahead_;
  std::optional<std::size_t> total_;
};

}  // namespace

std::unique_ptr<input_source> make_input(std::vector<std::vector<std::string>> sources, std::FILE* in,
                                         bool null_separated, bool read_ahead) {
  if (!sources.empty()) return std::make_unique<argument_product>(std::move(sources));
  return std::make_unique<stream_lines>(in, null_separated ? '\0' : '\n', read_ahead);
}

}  // namespace cohort_run
