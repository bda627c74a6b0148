package policy

import "strings"

// Enumerated filters (device, client_app, device_type, ua_tags,
// activities) take few values; Decide checks them as bits of one word
// before it looks at any other filter. Explain still uses the string
// checks, and a test holds the two paths to the same answers.

// enumBit returns the bit of an enumerated filter's value, or 0.
func enumBit(f field, v string) uint32 {
	var vals []string
	shift := 0
	switch f {
	case fDevice:
		vals = deviceValues
	case fClientApp:
		vals, shift = clientAppValues, 2
	case fDeviceType:
		vals, shift = deviceTypeValues, 4
	case fUATags:
		vals, shift = uaTagValues, 8
	case fActivities:
		vals, shift = activityValues, 11
	default:
		return 0
	}
	for i, x := range vals {
		if x == v {
			return 1 << (shift + i)
		}
	}
	return 0
}

// isEnum reports whether f is an enumerated filter.
func isEnum(f field) bool {
	return f == fDevice || f == fClientApp || f == fDeviceType || f == fUATags || f == fActivities
}

// contextBits returns the enumerated values of a prepared context as bits.
func contextBits(e *evalCtx) uint32 {
	b := enumBit(fDevice, e.device) | enumBit(fClientApp, e.ua.ClientApp) | enumBit(fDeviceType, e.ua.DeviceType)
	for i, t := range []UATags{UANativeClient, UAOutdatedBrowser, UAOutdatedOS} {
		if e.ua.Tags.Has(t) {
			b |= 1 << (8 + i)
		}
	}
	if e.c.Activity != "" {
		b |= enumBit(fActivities, strings.ToLower(e.c.Activity))
	}
	return b
}

// splitEnum moves the enumerated checks of c into bit masks and keeps the
// others in c.fast.
func (c *compiled) splitEnum(f *Filters) {
	for _, ch := range c.checks {
		if !isEnum(ch.f) {
			c.fast = append(c.fast, ch)
		}
	}
	for _, x := range []struct {
		f  field
		sf StringFilter
	}{{fDevice, f.Device}, {fClientApp, f.ClientApp}, {fDeviceType, f.DeviceType}, {fUATags, f.UATags}, {fActivities, f.Activities}} {
		var inc uint32
		for _, v := range x.sf.Include {
			inc |= enumBit(x.f, strings.ToLower(v))
		}
		for _, v := range x.sf.Exclude {
			c.enumExc |= enumBit(x.f, strings.ToLower(v))
		}
		if inc != 0 {
			c.enumInc[c.nEnum] = inc
			c.nEnum++
		}
	}
}
