// Fuzzes the three-way task merge with any three inputs (base, ours, theirs; each may be
// absent), as sync and taskfs-server run it on what peers send. It must finish quickly whatever
// the bytes (an alias bomb goes to the line merge), and give the same result both ways round.
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>

#include "sync/merge/merge_task.h"

namespace {

std::optional<std::string> Side(FuzzedDataProvider& in) {
  if (in.ConsumeBool()) return std::nullopt;
  return in.ConsumeRandomLengthString(4096);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const auto base = Side(in);
  const auto ours = Side(in);
  const auto theirs = Side(in);
  const taskfs::sync::SideInfo a{in.ConsumeIntegral<int32_t>(), "client-a", "A"};
  const taskfs::sync::SideInfo b{in.ConsumeIntegral<int32_t>(), "client-b", "B"};
  const auto r = taskfs::sync::MergeTask(base, ours, a, theirs, b);
  const auto swapped = taskfs::sync::MergeTask(base, theirs, b, ours, a);
  if (r.content != swapped.content || r.conflict_copy != swapped.conflict_copy) std::abort();
  return 0;
}
