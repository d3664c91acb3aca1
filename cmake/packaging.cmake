# Install rules and the Debian package (CPack, DEB generator).
#
#   cmake --install build [--prefix /usr]      # default prefix /usr/local
#   cpack --config build/CPackConfig.cmake     # hostform_<version>_<arch>.deb
#
# Layout, relative to the prefix (/usr in the package):
#   bin/hostform
#   share/hostform/schemas/            the JSON Schemas, for editors and other tools
#   share/hostform/examples/           beside schemas/, so the examples' relative
#                                      `$schema=../../schemas/...` lines resolve
#   share/bash-completion/completions/hostform
#   lib/systemd/system/*.service       every packaging/systemd/*.service
#   share/doc/hostform/                README.md and docs/
include(GNUInstallDirs)

set(HOSTFORM_SYSTEMD_UNIT_DIR "lib/systemd/system" CACHE STRING
    "where systemd units are installed, relative to the install prefix")

install(TARGETS hostform RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY schemas/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hostform/schemas)
install(DIRECTORY examples/ DESTINATION ${CMAKE_INSTALL_DATADIR}/hostform/examples)
install(FILES packaging/bash-completion/hostform DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions)
install(FILES README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")

# Units come from whoever writes them (hostform-watch.service with `watch`): a
# glob, so adding one needs no change here, and none is fine too.
file(GLOB HOSTFORM_UNITS CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/packaging/systemd/*.service)
list(SORT HOSTFORM_UNITS)
if(HOSTFORM_UNITS)
  install(FILES ${HOSTFORM_UNITS} DESTINATION ${HOSTFORM_SYSTEMD_UNIT_DIR})
endif()

# ---- the Debian package
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME hostform)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "hostform developers" CACHE STRING "the package's Maintainer field")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)  # the build is RelWithDebInfo; the package needs no debug info
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # hostform_0.1.0_amd64.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "declarative, GitOps-style reconciler for a Linux KVM host")
# CPack puts the summary on the Description line and indents each line below.
set(CPACK_PACKAGE_DESCRIPTION "hostform reads YAML manifests describing Linux bridges, LVM volume groups
and logical volumes, libvirt storage pools and volumes, and KVM virtual
machines; reads the live host; shows the difference as a plan; and applies
it, never deleting what it did not create and never losing data unless told.")
# Libraries: dpkg-shlibdeps reads the binary (libyaml, yaml-cpp, spdlog, fmt,
# libnl, libvirt, libgit2...), so Depends is always what was linked.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Tools the providers drive, and the daemon the KVM provider talks to. Not
# Depends: a host that manages only bridges needs neither (see README, Install).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "lvm2, libvirt-daemon-system, qemu-utils, bash-completion")  # qemu-utils: qemu-img inspects and converts images

# Maintainer scripts: systemd is told about the units, and an upgrade restarts
# the ones that were running; nothing is enabled on a first install.
set(HOSTFORM_UNIT_NAMES "")
foreach(unit ${HOSTFORM_UNITS})
  get_filename_component(name ${unit} NAME)
  list(APPEND HOSTFORM_UNIT_NAMES ${name})
endforeach()
string(REPLACE ";" " " HOSTFORM_UNITS_SPACED "${HOSTFORM_UNIT_NAMES}")
# An upgrade restarts the running daemons, not hostform-boot.service: a
# oneshot that stays "active" would run `hostform boot` again in the middle of
# dpkg (and wait for the lock of an apply in its confirm window).
set(HOSTFORM_RESTART_UNIT_NAMES ${HOSTFORM_UNIT_NAMES})
list(REMOVE_ITEM HOSTFORM_RESTART_UNIT_NAMES hostform-boot.service)
string(REPLACE ";" " " HOSTFORM_RESTART_UNITS_SPACED "${HOSTFORM_RESTART_UNIT_NAMES}")
set(HOSTFORM_UNITS_TEXT "${HOSTFORM_UNITS_SPACED}")
if(NOT HOSTFORM_UNITS_TEXT)
  set(HOSTFORM_UNITS_TEXT "none yet")
endif()
foreach(script postinst prerm)
  configure_file(packaging/debian/${script}.in ${CMAKE_BINARY_DIR}/packaging/${script} @ONLY
                 FILE_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
endforeach()
configure_file(packaging/debian/postrm ${CMAKE_BINARY_DIR}/packaging/postrm COPYONLY)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/postinst ${CMAKE_BINARY_DIR}/packaging/prerm ${CMAKE_BINARY_DIR}/packaging/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

include(CPack)
