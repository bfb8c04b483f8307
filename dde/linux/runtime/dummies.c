/*
 * dummies.c — the hand-written stub tier: kernel functions a driver calls
 * whose effect does not exist in a driver server (wake-on-LAN arming,
 * PCI-X burst tuning). Each logs once and returns what the kernel returns
 * when the feature is absent. Generated stubs (ddebuild stubs) are the
 * other tier: they stop the server.
 */
#include <linux/pci.h>
#include <linux/pm_wakeup.h>
#include "dde.h"

int pci_enable_wake(struct pci_dev *dev, pci_power_t state, bool enable)
{
	dde_once(LOGLEVEL_INFO, "pci_enable_wake: no wake-up events here, ignored");
	return 0;
}

int pci_wake_from_d3(struct pci_dev *dev, bool enable)
{
	dde_once(LOGLEVEL_INFO, "pci_wake_from_d3: no wake-up events here, ignored");
	return 0;
}

int device_set_wakeup_enable(struct device *dev, bool enable)
{
	dde_once(LOGLEVEL_INFO, "device_set_wakeup_enable: no wake-up events here, ignored");
	return 0;
}

/* PCI-X only; the function is plain PCI, as the kernel finds when it
 * looks for the PCI-X capability. */
int pcix_get_mmrbc(struct pci_dev *dev)
{
	dde_once(LOGLEVEL_INFO, "pcix_get_mmrbc: not a PCI-X function");
	return -EINVAL;
}

int pcix_set_mmrbc(struct pci_dev *dev, int mmrbc)
{
	dde_once(LOGLEVEL_INFO, "pcix_set_mmrbc: not a PCI-X function");
	return -EINVAL;
}
