package linux

// Fault is a fault Runtime.InjectFault plants in the donor's code.
type Fault int

// Faults.
const (
	FaultSegv Fault = 1 + iota // the next transmit dereferences address 0 inside donor code
	FaultHang                  // the next transmit loops forever inside donor code
)
