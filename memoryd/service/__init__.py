"""Running memoryd as a service: units, install, socket activation, upgrades, backups."""
