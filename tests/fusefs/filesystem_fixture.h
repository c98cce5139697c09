// A TaskFilesystem on a throw-away store, started (its committer runs) and checked with
// `git fsck` after each test: the fixture of the kernel-free FUSE logic tests.
#pragma once

#include <gtest/gtest.h>

#include <memory>

#include "fusefs/task_filesystem.h"
#include "tests/test_util.h"

namespace taskfs::fusefs {

class FilesystemTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto s = storage::Store::Init(dir_.path() + "/store", "Ada");
    ASSERT_TRUE(s.ok());
    store_ = std::move(s.value());
    fs_ = std::make_unique<TaskFilesystem>(store_.get());
    ASSERT_TRUE(fs_->Start().ok());
  }
  void TearDown() override {
    fs_.reset();
    EXPECT_EQ(taskfs::testing::GitFsckErrors(store_->git_dir()), "");
  }

  taskfs::testing::TempDir dir_;
  std::unique_ptr<storage::Store> store_;
  std::unique_ptr<TaskFilesystem> fs_;
};

}  // namespace taskfs::fusefs
