#include "providers/lvm/status.h"

#include "reconciler/kinds/logical_volume.h"
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

std::vector<Gauge> thinPoolGauges(const LvmState& state) {
  std::vector<Gauge> out;
  for (const LogicalVolumeInfo& lv : state.logicalVolumes) {
    if (lv.type() != LvType::ThinPool) continue;
    const std::vector<std::pair<std::string, std::string>> labels{{"volume_group", lv.volumeGroup}, {"name", lv.name}};
    if (lv.dataPercent)
      out.push_back({"hostform_thin_pool_data_percent", "Data use of each thin pool, in percent (lvm's data_percent).",
                     labels, *lv.dataPercent});
    if (lv.metadataPercent)
      out.push_back({"hostform_thin_pool_metadata_percent",
                     "Metadata use of each thin pool, in percent (lvm's metadata_percent).", labels,
                     *lv.metadataPercent});
  }
  return out;
}

}  // namespace hostform::lvm
