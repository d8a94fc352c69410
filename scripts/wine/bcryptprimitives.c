/* A stand-in for Windows' bcryptprimitives.dll under Wine 8, which lacks it: Rust's standard
 * library imports ProcessPrng from it for its random numbers (HashMap keys and the like).
 * ProcessPrng fills the buffer with random bytes and always succeeds; RtlGenRandom
 * (SystemFunction036 of advapi32) does the same from the system's generator. Only for running
 * tests under Wine (scripts/wine/runner); never shipped. */
#include <windows.h>
#include <ntsecapi.h>

BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(data, chunk)) {
            return FALSE;
        }
        data += chunk;
        len -= chunk;
    }
    return TRUE;
}
