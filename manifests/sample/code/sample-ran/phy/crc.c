/* CRC24A as used for NR transport blocks (TS 38.212 clause 5.1). */
#include <stdint.h>
#include <stddef.h>

#define CRC24A_POLY 0x864CFBu

uint32_t crc24a(const uint8_t *data, size_t len)
{
    uint32_t crc = 0;
    for (size_t i = 0; i < len; i++) {
        crc ^= (uint32_t)data[i] << 16;
        for (int b = 0; b < 8; b++) {
            crc <<= 1;
            if (crc & 0x1000000u)
                crc ^= CRC24A_POLY;
        }
    }
    return crc & 0xFFFFFFu;
}
