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
  /// lvm.conf has activation = 0 (metadata only), unless the environment has
  /// HOSTFORM_LVM_ACTIVATION=1 (the test VM, which has device-mapper): then
  /// activation = 1, LVs get device nodes, and the destructor deactivates them.
  explicit Sandbox(int devices, int sizeMiB = 128);

  /// Whether this sandbox's lvm activates LVs (HOSTFORM_LVM_ACTIVATION=1).
  static bool activation();
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
  /// One lvs field of `vg`/`lv` as lvm prints it ("lv_attr", "lv_profile"); empty when absent.
  std::string lvField(const std::string& vg, const std::string& lv, const std::string& field) const;

 private:
  nlohmann::json report(std::vector<std::string> args) const;

  testing::TempDir dir_;
  std::string prefix_, owner_, stateDir_, oldSystemDir_;
  bool hadSystemDir_ = false;
  std::vector<std::string> devices_;
};

/// A VolumeGroup document on one physical volume, ending with `---`.
std::string vgDoc(const std::string& name, const std::string& pv);

}  // namespace hostform::lvmtest
