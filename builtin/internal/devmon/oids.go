package devmon

// OIDs the SNMP monitor types read (numeric, leading dot, as the host
// returns them).
const (
	SysObjectID    = ".1.3.6.1.2.1.1.2.0"
	SysUpTime      = ".1.3.6.1.2.1.1.3.0"
	HrSystemUptime = ".1.3.6.1.2.1.25.1.1.0"
	TCPRetransSegs = ".1.3.6.1.2.1.6.12.0"

	// IF-MIB ifTable columns.
	IfDescr         = ".1.3.6.1.2.1.2.2.1.2"
	IfSpeed         = ".1.3.6.1.2.1.2.2.1.5"
	IfAdminStatus   = ".1.3.6.1.2.1.2.2.1.7"
	IfOperStatus    = ".1.3.6.1.2.1.2.2.1.8"
	IfInOctets      = ".1.3.6.1.2.1.2.2.1.10"
	IfInUcastPkts   = ".1.3.6.1.2.1.2.2.1.11"
	IfInNUcastPkts  = ".1.3.6.1.2.1.2.2.1.12"
	IfInErrors      = ".1.3.6.1.2.1.2.2.1.14"
	IfOutOctets     = ".1.3.6.1.2.1.2.2.1.16"
	IfOutUcastPkts  = ".1.3.6.1.2.1.2.2.1.17"
	IfOutNUcastPkts = ".1.3.6.1.2.1.2.2.1.18"
	IfOutErrors     = ".1.3.6.1.2.1.2.2.1.20"

	// IF-MIB ifXTable columns (SNMPv2c and v3 only: Counter64).
	IfName               = ".1.3.6.1.2.1.31.1.1.1.1"
	IfInMulticastPkts    = ".1.3.6.1.2.1.31.1.1.1.2"
	IfInBroadcastPkts    = ".1.3.6.1.2.1.31.1.1.1.3"
	IfOutMulticastPkts   = ".1.3.6.1.2.1.31.1.1.1.4"
	IfOutBroadcastPkts   = ".1.3.6.1.2.1.31.1.1.1.5"
	IfHCInOctets         = ".1.3.6.1.2.1.31.1.1.1.6"
	IfHCInUcastPkts      = ".1.3.6.1.2.1.31.1.1.1.7"
	IfHCInMulticastPkts  = ".1.3.6.1.2.1.31.1.1.1.8"
	IfHCInBroadcastPkts  = ".1.3.6.1.2.1.31.1.1.1.9"
	IfHCOutOctets        = ".1.3.6.1.2.1.31.1.1.1.10"
	IfHCOutUcastPkts     = ".1.3.6.1.2.1.31.1.1.1.11"
	IfHCOutMulticastPkts = ".1.3.6.1.2.1.31.1.1.1.12"
	IfHCOutBroadcastPkts = ".1.3.6.1.2.1.31.1.1.1.13"
	IfHighSpeed          = ".1.3.6.1.2.1.31.1.1.1.15"

	// Bridge forwarding databases: Q-BRIDGE-MIB dot1qTpFdbTable (VLAN-aware
	// switches), BRIDGE-MIB dot1dTpFdbTable (the classic one) and the map
	// of bridge ports to ifIndex.
	Dot1qTpFdbPort       = ".1.3.6.1.2.1.17.7.1.2.2.1.2"
	Dot1qTpFdbStatus     = ".1.3.6.1.2.1.17.7.1.2.2.1.3"
	Dot1dTpFdbPort       = ".1.3.6.1.2.1.17.4.3.1.2"
	Dot1dTpFdbStatus     = ".1.3.6.1.2.1.17.4.3.1.3"
	Dot1dBasePortIfIndex = ".1.3.6.1.2.1.17.1.4.1.2"

	// ARP / neighbour tables (IP-MIB).
	IPNetToPhysicalPhysAddress = ".1.3.6.1.2.1.4.35.1.4"
	IPNetToMediaPhysAddress    = ".1.3.6.1.2.1.4.22.1.2"

	// HOST-RESOURCES-MIB.
	HrStorageType        = ".1.3.6.1.2.1.25.2.3.1.2"
	HrStorageDescr       = ".1.3.6.1.2.1.25.2.3.1.3"
	HrStorageUnits       = ".1.3.6.1.2.1.25.2.3.1.4"
	HrStorageSize        = ".1.3.6.1.2.1.25.2.3.1.5"
	HrStorageUsed        = ".1.3.6.1.2.1.25.2.3.1.6"
	HrProcessorLoad      = ".1.3.6.1.2.1.25.3.3.1.2"
	HrStorageRAM         = ".1.3.6.1.2.1.25.2.1.2"
	HrStorageVirtual     = ".1.3.6.1.2.1.25.2.1.3"
	HrStorageFixedDisk   = ".1.3.6.1.2.1.25.2.1.4"
	HrStorageFlashMemory = ".1.3.6.1.2.1.25.2.1.9"

	// UCD-SNMP-MIB (net-snmp) scalars and UCD-DISKIO-MIB columns.
	MemTotalSwap    = ".1.3.6.1.4.1.2021.4.3.0"
	MemAvailSwap    = ".1.3.6.1.4.1.2021.4.4.0"
	MemTotalReal    = ".1.3.6.1.4.1.2021.4.5.0"
	MemAvailReal    = ".1.3.6.1.4.1.2021.4.6.0"
	MemBuffer       = ".1.3.6.1.4.1.2021.4.14.0"
	MemCached       = ".1.3.6.1.4.1.2021.4.15.0"
	SsRawInterrupts = ".1.3.6.1.4.1.2021.11.59.0"
	SsRawContexts   = ".1.3.6.1.4.1.2021.11.60.0"
	SsRawSwapIn     = ".1.3.6.1.4.1.2021.11.62.0"
	SsRawSwapOut    = ".1.3.6.1.4.1.2021.11.63.0"
	DiskIODevice    = ".1.3.6.1.4.1.2021.13.15.1.1.2"
	DiskIORead      = ".1.3.6.1.4.1.2021.13.15.1.1.3"
	DiskIOWrite     = ".1.3.6.1.4.1.2021.13.15.1.1.4"
	DiskIOReadX     = ".1.3.6.1.4.1.2021.13.15.1.1.12"
	DiskIOWriteX    = ".1.3.6.1.4.1.2021.13.15.1.1.13"
)
