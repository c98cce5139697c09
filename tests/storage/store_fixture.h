// A throw-away store for storage/ tests: made new for each test, checked with `git fsck --strict`
// after it.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "storage/store.h"
#include "tests/test_util.h"

namespace taskfs::storage {

class StoreFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = Store::Init(dir_.path() + "/store", "Ada laptop");
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  void TearDown() override { EXPECT_EQ(taskfs::testing::GitFsckErrors(store_->git_dir()), ""); }

  taskfs::testing::TempDir dir_;
  std::unique_ptr<Store> store_;
};

}  // namespace taskfs::storage
