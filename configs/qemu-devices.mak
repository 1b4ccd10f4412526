# Devices of the QEMU built for the test host (configure
# --without-default-devices --with-devices-x86_64=unmapped): the two PC
# boards and what a usual guest of theirs needs, nothing else.
CONFIG_I440FX=y
CONFIG_Q35=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_BLK=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_RNG=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_VIRTIO_BALLOON=y
CONFIG_VHOST_USER=y
