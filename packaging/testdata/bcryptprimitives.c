/*
 * A stand-in for Windows' bcryptprimitives.dll, for the installer's test
 * under Wine only (never shipped): the Go runtime calls ProcessPrng from
 * it, which Windows 10 and later have and Debian 12's Wine 8 lacks. It
 * fills the buffer from RtlGenRandom, as Wine's own later versions do.
 */
#include <windows.h>
#define SystemFunction036 NTAPI SystemFunction036
#include <ntsecapi.h>
#undef SystemFunction036

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T size) {
	while (size > 0) {
		ULONG n = size > 0x10000000 ? 0x10000000 : (ULONG)size;
		if (!RtlGenRandom(data, n)) {
			return FALSE;
		}
		data += n;
		size -= n;
	}
	return TRUE;
}
