/* The floor for a no-op `hostform plan` of KVM resources: the libvirt calls
 * hostform's observe makes (providers/kvm/observe.cpp), in the same order, and
 * nothing else: no XML parsing, no manifest, no plan.
 *
 *   kvm_floor [URI]      (default: $LIBVIRT_DEFAULT_URI, else qemu:///system)
 *
 * Prints "pools P (A active) volumes V domains D (R running) xml B bytes".
 * Used by tests/bench/kvm_bench.sh; never by ctest. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void quiet(void *data, virErrorPtr err) {
  (void)data;
  (void)err;
}

static void die(const char *what) {
  const char *msg = virGetLastErrorMessage();
  fprintf(stderr, "kvm_floor: %s: %s\n", what, msg ? msg : "unknown libvirt error");
  exit(1);
}

/* The object went away between the list and the fetch (other clients share
 * the daemon): skipped, as hostform does. */
static int gone(int code) { return virGetLastErrorCode() == code; }

/* The names of the pools a filtered list call returns, as hostform keeps them. */
static char **poolNames(virConnectPtr conn, unsigned flags, int *count) {
  virStoragePoolPtr *list = NULL;
  int n = virConnectListAllStoragePools(conn, &list, flags);
  if (n < 0) die("cannot list storage pools");
  char **names = calloc((size_t)n + 1, sizeof *names);
  for (int i = 0; i < n; i++) {
    names[i] = strdup(virStoragePoolGetName(list[i]));
    virStoragePoolFree(list[i]);
  }
  free(list);
  *count = n;
  return names;
}

static int contains(char **names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (strcmp(names[i], name) == 0) return 1;
  return 0;
}

static void freeNames(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static int countDomains(virConnectPtr conn, unsigned flags) {
  virDomainPtr *list = NULL;
  int n = virConnectListAllDomains(conn, &list, flags);
  if (n < 0) die("cannot list domains");
  for (int i = 0; i < n; i++) {
    (void)virDomainGetName(list[i]);
    virDomainFree(list[i]);
  }
  free(list);
  return n;
}

int main(int argc, char **argv) {
  const char *uri = argc > 1 ? argv[1] : getenv("LIBVIRT_DEFAULT_URI");
  if (!uri || !*uri) uri = "qemu:///system";
  virInitialize();
  virSetErrorFunc(NULL, quiet);
  virConnectPtr conn = virConnectOpen(uri);
  if (!conn) die("cannot connect");

  size_t xmlBytes = 0;
  int volumes = 0;

  /* Pools: all, then the active and autostart sets by name. */
  virStoragePoolPtr *pools = NULL;
  int np = virConnectListAllStoragePools(conn, &pools, 0);
  if (np < 0) die("cannot list storage pools");
  int activePools = 0, autostartPools = 0;
  char **active = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_ACTIVE, &activePools);
  char **autostart = poolNames(conn, VIR_CONNECT_LIST_STORAGE_POOLS_AUTOSTART, &autostartPools);
  for (int i = 0; i < np; i++) {
    const char *name = virStoragePoolGetName(pools[i]);
    char *xml = virStoragePoolGetXMLDesc(pools[i], 0);
    if (!xml && !gone(VIR_ERR_NO_STORAGE_POOL)) die("cannot read a storage pool");
    if (xml && contains(active, activePools, name)) {
      virStorageVolPtr *vols = NULL;
      int nv = virStoragePoolListAllVolumes(pools[i], &vols, 0);
      /* Stopped or removed since the lists: no volumes. (hostform's observe
       * fails the run here instead.) */
      if (nv < 0 && !gone(VIR_ERR_NO_STORAGE_POOL) && !gone(VIR_ERR_OPERATION_INVALID)) die("cannot list volumes");
      for (int j = 0; j < nv; j++) {
        char *vxml = virStorageVolGetXMLDesc(vols[j], 0);
        if (!vxml && !gone(VIR_ERR_NO_STORAGE_VOL)) die("cannot read a volume");
        if (vxml) volumes++;
        xmlBytes += vxml ? strlen(vxml) : 0;
        free(vxml);
        virStorageVolFree(vols[j]);
      }
      free(vols);
    }
    xmlBytes += xml ? strlen(xml) : 0;
    free(xml);
    virStoragePoolFree(pools[i]);
  }
  free(pools);
  freeNames(active, activePools);
  freeNames(autostart, autostartPools);

  /* Domains: all, then the active, paused and autostart sets by name. */
  virDomainPtr *doms = NULL;
  int nd = virConnectListAllDomains(conn, &doms, 0);
  if (nd < 0) die("cannot list domains");
  int running = countDomains(conn, VIR_CONNECT_LIST_DOMAINS_ACTIVE);
  (void)countDomains(conn, VIR_CONNECT_LIST_DOMAINS_PAUSED);
  (void)countDomains(conn, VIR_CONNECT_LIST_DOMAINS_AUTOSTART);
  for (int i = 0; i < nd; i++) {
    (void)virDomainGetName(doms[i]);
    char *xml = virDomainGetXMLDesc(doms[i], VIR_DOMAIN_XML_INACTIVE);
    if (!xml && !gone(VIR_ERR_NO_DOMAIN)) die("cannot read a domain definition");
    xmlBytes += xml ? strlen(xml) : 0;
    free(xml);
    virDomainFree(doms[i]);
  }
  free(doms);

  virNodeInfo node;
  (void)virNodeGetInfo(conn, &node);
  virConnectClose(conn);

  printf("pools %d (%d active) volumes %d domains %d (%d running) xml %zu bytes\n", np, activePools, volumes, nd,
         running, xmlBytes);
  return 0;
}
