package testutil

import (
	"fmt"

	"github.com/gosnmp/gosnmp"
)

// SNMPSwitch makes a look like a managed switch for benchmarks and tests:
// sysUpTime, a Cisco sysObjectID, tcpRetransSegs, a CPU figure, and per
// port (ifIndex 1…ports) a full IF-MIB ifTable and ifXTable row (up,
// 1 Gbit/s, 64-bit counters), macsPerPort learned MACs in the Q-BRIDGE
// forwarding database and as many ARP entries.
func SNMPSwitch(a *SNMPAgent, ports, macsPerPort int) {
	a.Set(".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, uint32(100_000))
	a.Set(".1.3.6.1.2.1.1.2.0", gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.9.1.1208")
	a.Set(".1.3.6.1.2.1.6.12.0", gosnmp.Counter32, uint32(10))
	a.Set(".1.3.6.1.4.1.9.9.109.1.1.1.1.8.1", gosnmp.Gauge32, uint32(12)) // cpmCPUTotal5minRev
	for i := 1; i <= ports; i++ {
		idx := fmt.Sprintf(".%d", i)
		ifTable, ifX := ".1.3.6.1.2.1.2.2.1.", ".1.3.6.1.2.1.31.1.1.1."
		a.Set(ifTable+"2"+idx, gosnmp.OctetString, fmt.Sprintf("GigabitEthernet1/0/%d", i))
		a.Set(ifTable+"5"+idx, gosnmp.Gauge32, uint32(1_000_000_000))
		a.Set(ifTable+"7"+idx, gosnmp.Integer, 1)
		a.Set(ifTable+"8"+idx, gosnmp.Integer, 1)
		for _, col := range []string{"10", "11", "12", "14", "16", "17", "18", "20"} {
			a.Set(ifTable+col+idx, gosnmp.Counter32, uint32(1000*i))
		}
		a.Set(ifX+"1"+idx, gosnmp.OctetString, fmt.Sprintf("Gi1/0/%d", i))
		for _, col := range []string{"2", "3", "4", "5"} {
			a.Set(ifX+col+idx, gosnmp.Counter32, uint32(10*i))
		}
		for _, col := range []string{"6", "7", "8", "9", "10", "11", "12", "13"} {
			a.Set(ifX+col+idx, gosnmp.Counter64, uint64(1000*i))
		}
		a.Set(ifX+"15"+idx, gosnmp.Gauge32, uint32(1000))
		for m := 0; m < macsPerPort; m++ {
			mac := fmt.Sprintf(".1.2.0.0.%d.%d.%d", i/256, i%256, m)
			a.Set(".1.3.6.1.2.1.17.7.1.2.2.1.2"+mac, gosnmp.Integer, i) // dot1qTpFdbPort
			a.Set(".1.3.6.1.2.1.17.7.1.2.2.1.3"+mac, gosnmp.Integer, 3) // dot1qTpFdbStatus: learned
			a.Set(fmt.Sprintf(".1.3.6.1.2.1.4.22.1.2.%d.10.%d.%d.%d", i, i/256, i%256, m), gosnmp.OctetString,
				[]byte{2, 0, byte(i / 256), byte(i % 256), byte(m), 0}) // ipNetToMediaPhysAddress
		}
	}
}
