#pragma once
/// A private LVM world for one test: sparse files on loop devices, an
/// LVM_SYSTEM_DIR whose lvm.conf accepts only those loop devices, and names
/// with a unique prefix. Everything is undone in the destructor, on every path.

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/support/manifests.h"
#include "tests/support/process.h"

namespace hostform::lvmtest {

using Outcome = testing::ProcessResult;

/// Runs `argv` (no shell) with this process's environment; both streams captured.
Outcome run(const std::vector<std::string>& argv);

class Sandbox {
 public:
  /// `devices` loop devices of `sizeMiB` MiB each. Throws std::runtime_error
  /// (a test failure) when lvm2 or losetup is missing or a device cannot be set up.
  explicit Sandbox(int devices, int sizeMiB = 128);
  ~Sandbox();
  Sandbox(const Sandbox&) = delete;
  Sandbox& operator=(const Sandbox&) = delete;

  const std::vector<std::string>& devices() const { return devices_; }
  /// A name unique to this test run: "hf<pid>t<n>" + suffix.
  std::string name(const std::string& suffix) const { return prefix_ + suffix; }
  const std::string& owner() const { return owner_; }
  const std::string& stateDir() const { return stateDir_; }
  const testing::TempDir& dir() const { return dir_; }

  /// Writes manifests to a file in the sandbox; returns its path.
  std::string manifest(const std::string& yaml) const;
  /// The hostform binary with --state-dir and --owner (unless `owner` is given).
  Outcome hostform(std::vector<std::string> args, const std::string& owner = {}) const;
  /// An lvm command, as an operator would type it ("lvm", "lvcreate", …).
  Outcome lvm(std::vector<std::string> args) const;

  // ---- lvm's real state, read with lvs/vgs/pvs JSON reports -----------------
  struct Lv {
    std::string layout;
    std::uint64_t size = 0;
    std::string tags;
    std::string pool;
    bool operator==(const Lv&) const = default;
  };
  /// Visible and hidden ("[x]") LVs of `vg` by name; empty when the VG is absent.
  std::map<std::string, Lv> lvs(const std::string& vg) const;
  /// pv_name -> vg_name ("" for an orphan PV) for every PV lvm sees.
  std::map<std::string, std::string> pvs() const;
  /// vg_name -> vg_tags.
  std::map<std::string, std::string> vgs() const;

 private:
  nlohmann::json report(std::vector<std::string> args) const;

  testing::TempDir dir_;
  std::string prefix_, owner_, stateDir_, oldSystemDir_;
  bool hadSystemDir_ = false;
  bool activation_ = false;  ///< HOSTFORM_LVM_ACTIVATION=1: activation = 1 in lvm.conf
 public:
  bool activation() const { return activation_; }

 private:
  std::vector<std::string> devices_;
};

}  // namespace hostform::lvmtest
