#include "tests/integration/lvm/sandbox.h"

#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string_view>
#include <stdexcept>

#include "providers/lvm/session.h"

namespace hostform::lvmtest {
namespace {

std::atomic<int> counter{0};

}  // namespace

Outcome run(const std::vector<std::string>& argv) {
  auto r = lvm::runCommand(argv, std::chrono::minutes(2));
  if (!r) return {127, "", r.error().message};
  return {r->exitCode, r->out, r->err};
}

Sandbox::Sandbox(int devices, int sizeMiB) {
  const int n = counter++;
  prefix_ = "hf" + std::to_string(::getpid()) + "t" + std::to_string(n);
  owner_ = "test-" + prefix_;
  stateDir_ = dir_.path() + "/state";
  if (run({"lvm", "version"}).code != 0)
    throw std::runtime_error("lvm2 is not installed (no lvm in $PATH, /usr/sbin or /sbin): install the lvm2 package; "
                             "these tests run the real tools and must not pass without them.");
  for (int i = 0; i < devices; ++i) {
    const std::string file = dir_.path() + "/disk" + std::to_string(i) + ".img";
    if (::truncate(file.c_str(), 0) != 0) std::ofstream(file).close();
    if (::truncate(file.c_str(), static_cast<off_t>(sizeMiB) * 1024 * 1024) != 0)
      throw std::runtime_error("cannot size " + file);
    Outcome loop = run({"losetup", "--find", "--show", file});
    if (loop.code != 0) throw std::runtime_error("losetup failed: " + loop.err);
    std::string dev = loop.out.substr(0, loop.out.find('\n'));
    devices_.push_back(dev);
  }
  std::string filter;
  for (const auto& d : devices_) filter += "\"a|^" + d + "$|\", ";
  std::ofstream conf(dir_.path() + "/lvm.conf");
  // Without device-mapper: metadata only. Only this test's loop devices are
  // visible, no udev, no devices file, no backups under /etc/lvm.
  conf << "devices {\n  filter = [ " << filter << "\"r|.*|\" ]\n  global_filter = [ " << filter
       << "\"r|.*|\" ]\n  obtain_device_list_from_udev = 0\n  use_devicesfile = 0\n}\n"
       << "global { activation = " << (activation() ? 1 : 0) << " }\n"
       << "activation { udev_sync = 0\n udev_rules = 0\n monitoring = 0 }\n"
       << "backup { backup = 0\n archive = 0 }\n";
  conf.close();
  if (const char* old = std::getenv("LVM_SYSTEM_DIR")) {
    hadSystemDir_ = true;
    oldSystemDir_ = old;
  }
  ::setenv("LVM_SYSTEM_DIR", dir_.path().c_str(), 1);
}

bool Sandbox::activation() {
  const char* on = std::getenv("HOSTFORM_LVM_ACTIVATION");
  return on && std::string(on) == "1";
}

Sandbox::~Sandbox() {
  // Active LVs hold their loop devices: deactivate every VG this sandbox's
  // lvm sees (its filter shows only its own devices) before detaching them.
  if (activation()) {
    run({"umount", "--recursive", dir_.path() + "/mnt"});
    run({"lvm", "vgchange", "-an"});
  }
  // Metadata lives on the devices; detaching them and deleting the files
  // removes every VG, LV and PV the test made.
  for (const auto& d : devices_) run({"losetup", "-d", d});
  if (hadSystemDir_) ::setenv("LVM_SYSTEM_DIR", oldSystemDir_.c_str(), 1);
  else ::unsetenv("LVM_SYSTEM_DIR");
}

std::string Sandbox::manifest(const std::string& yaml) const {
  static std::atomic<int> files{0};
  return dir_.write("m" + std::to_string(files++) + ".yaml", yaml);
}

Outcome Sandbox::hostform(std::vector<std::string> args, const std::string& owner) const {
  std::vector<std::string> argv{HOSTFORM_BINARY};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.insert(argv.end(), {"--state-dir", stateDir_, "--owner", owner.empty() ? owner_ : owner});
  return run(argv);
}

Outcome Sandbox::lvm(std::vector<std::string> args) const {
  args.insert(args.begin(), "lvm");
  return run(args);
}

nlohmann::json Sandbox::report(std::vector<std::string> args) const {
  args.insert(args.begin(), "lvm");
  args.insert(args.end(), {"--reportformat", "json", "--units", "b", "--nosuffix"});
  Outcome r = run(args);
  if (r.code != 0) return nlohmann::json::object();
  auto doc = nlohmann::json::parse(r.out, nullptr, false);
  return doc.is_discarded() ? nlohmann::json::object() : doc;
}

std::map<std::string, Sandbox::Lv> Sandbox::lvs(const std::string& vg) const {
  std::map<std::string, Lv> out;
  auto doc = report({"lvs", "-a", "-o", "vg_name,lv_name,lv_layout,lv_size,lv_tags,pool_lv"});
  for (const auto& rep : doc.value("report", nlohmann::json::array()))
    for (const auto& lv : rep.value("lv", nlohmann::json::array())) {
      if (lv.value("vg_name", "") != vg) continue;
      out[lv.value("lv_name", "")] = Lv{lv.value("lv_layout", ""), std::stoull(lv.value("lv_size", "0")),
                                        lv.value("lv_tags", ""), lv.value("pool_lv", "")};
    }
  return out;
}

std::map<std::string, std::string> Sandbox::pvs() const {
  std::map<std::string, std::string> out;
  auto doc = report({"pvs", "-o", "pv_name,vg_name"});
  for (const auto& rep : doc.value("report", nlohmann::json::array()))
    for (const auto& pv : rep.value("pv", nlohmann::json::array())) out[pv.value("pv_name", "")] = pv.value("vg_name", "");
  return out;
}

std::string Sandbox::lvField(const std::string& vg, const std::string& lv, const std::string& field) const {
  auto doc = report({"lvs", "-o", field, vg + "/" + lv});
  for (const auto& rep : doc.value("report", nlohmann::json::array()))
    for (const auto& row : rep.value("lv", nlohmann::json::array())) return row.value(field, "");
  return {};
}

std::map<std::string, std::string> Sandbox::vgs() const {
  std::map<std::string, std::string> out;
  auto doc = report({"vgs", "-o", "vg_name,vg_tags"});
  for (const auto& rep : doc.value("report", nlohmann::json::array()))
    for (const auto& vg : rep.value("vg", nlohmann::json::array())) out[vg.value("vg_name", "")] = vg.value("vg_tags", "");
  return out;
}

std::string vgDoc(const std::string& name, const std::string& pv) {
  return "apiVersion: hostform/v1\nkind: VolumeGroup\nmetadata: {name: " + name + "}\nspec: {physicalVolumes: [" + pv +
         "]}\n---\n";
}

}  // namespace hostform::lvmtest
