#include "providers/lvm/status.h"

#include "reconciler/kinds/logical_volume.h"
#include "reconciler/kinds/snapshot.h"
#include "reconciler/kinds/volume_group.h"

namespace hostform::lvm {

std::vector<StatusFact> statusOf(const ResourceId& id, const LvmState& state) {
  if (id.kind == kinds::VolumeGroup) {
    const VolumeGroupInfo* vg = state.findVolumeGroup(id.name);
    if (!vg) return {wordFact("state", "absent")};
    return {wordFact("state", "present"), sizeFact("size", vg->extentSize * vg->extents),
            sizeFact("free", vg->extentSize * vg->freeExtents)};
  }
  const LogicalVolumeInfo* lv = state.findLogicalVolume(id.scope, id.name);
  if (!lv) return {wordFact("state", "absent")};
  std::vector<StatusFact> facts{wordFact("state", "present"), sizeFact("size", lv->size)};
  if (lv->type() == LvType::ThinPool) {
    facts.push_back(percentFact("dataPercent", lv->dataPercent));
    facts.push_back(percentFact("metadataPercent", lv->metadataPercent));
  }
  return facts;
}

std::vector<StatusFact> snapshotStatusOf(const Resource& desired, const LvmState& state, std::int64_t now) {
  const auto& src = *desired.as<SnapshotSpec>().source.logicalVolume;
  const LogicalVolumeInfo* lv = state.findLogicalVolume(src.volumeGroup, desired.id.name);
  if (!lv || !lv->snapshot()) return {wordFact("state", "absent")};
  const bool thin = lv->thinSnapshot();
  const bool invalid = !thin && lv->snapPercent && *lv->snapPercent >= 100.0;
  std::vector<StatusFact> facts{wordFact("state", invalid ? "invalid" : "present")};
  if (lv->created) facts.push_back(secondsFact("age", now - *lv->created));
  else facts.push_back({"age", "unknown", nullptr});
  facts.push_back(percentFact("used", thin ? lv->dataPercent : lv->snapPercent));
  if (!thin) facts.push_back(sizeFact("size", lv->size));
  facts.push_back(wordFact("origin", lv->volumeGroup + "/" + lv->origin));
  return facts;
}

}  // namespace hostform::lvm
