//! Where an agent lives when the work is split: Kafka's default partitioner,
//! so that a producer keying events by agent id, a gateway embedding the
//! library and riskgate itself all send an agent to the same partition.

/// Kafka's murmur2 hash of `data` (`org.apache.kafka.common.utils.Utils.murmur2`),
/// as the signed 32-bit value Java computes.
///
/// ```
/// assert_eq!(riskgate::partition::murmur2(b"21"), -973_932_308);
/// assert_eq!(riskgate::partition::murmur2(b"foobar"), -790_332_482);
/// ```
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;
    let len = data.len();
    // Java takes the length as an int: lengths past i32::MAX wrap the same way.
    let mut h: u32 = SEED ^ (len as u32);
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        let mut k = u32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = chunks.remainder();
    if let Some(&b) = tail.get(2) {
        h ^= u32::from(b) << 16;
    }
    if let Some(&b) = tail.get(1) {
        h ^= u32::from(b) << 8;
    }
    if let Some(&b) = tail.first() {
        h ^= u32::from(b);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition of `agent_id` among `partitions`: `(murmur2(id) &
/// 0x7fffffff) % partitions`, exactly Kafka's default partitioner for a
/// record keyed by the id's UTF-8 bytes. `0` when `partitions` is 0.
///
/// ```
/// assert_eq!(riskgate::partition_of("foobar", 50), 16);
/// assert_eq!(riskgate::partition_of("anything", 0), 0);
/// ```
pub fn partition_of(agent_id: &str, partitions: u32) -> u32 {
    if partitions == 0 {
        return 0;
    }
    (murmur2(agent_id.as_bytes()) as u32 & 0x7fff_ffff) % partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Apache Kafka's own vectors: `UtilsTest.testMurmur2` in
    /// `clients/src/test/java/org/apache/kafka/common/utils/UtilsTest.java`.
    /// Their lengths leave a tail of 0, 2 or 3 bytes, never 1.
    #[test]
    fn murmur2_matches_kafkas_vectors() {
        let cases: [(&[u8], i32); 6] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
    }

    /// librdkafka's `unittest_murmur2` (`src/rdmurmur2.c`, the copy
    /// rdkafka-sys 4.10.0 bundles), its values the Java client's: every tail
    /// length 0 to 3 (the 1-byte tail, which no Kafka vector has, included),
    /// and the empty key.
    #[test]
    fn murmur2_matches_librdkafkas_vectors() {
        let unaligned = "PreAmbleWillBeRemoved,ThePrePartThatIs";
        let cases: [(&str, u32); 11] = [
            ("kafka", 0xd067_cf64),
            ("giberish123456789", 0x8f55_2b0c),
            ("1234", 0x9fc9_7b14),
            ("234", 0xe7c0_09ca),
            ("34", 0x8739_30da),
            ("4", 0x5a4b_5ca1),
            (unaligned, 0x7842_4f1c),
            (&unaligned[1..], 0x4a62_b377),
            (&unaligned[2..], 0xe0e4_e09e),
            (&unaligned[3..], 0x62b8_b43f),
            ("", 0x106e_08d9),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data.as_bytes()), want as i32, "{data:?}");
        }
    }

    /// librdkafka's partitioner test (`tests/0048-partitioner.c`, partitioner
    /// `murmur2`, values from Kafka's Java `Utils`): the positive hash modulo
    /// 7 and 17 partitions. `"23456"` and the long key hash to negative
    /// values, so the mask is exercised.
    #[test]
    fn partitions_match_librdkafkas_murmur2_partitioner() {
        let cases: [(&str, u32); 4] = [
            ("", 0x106e_08d9),
            ("23456", 0x058d_780f),
            (
                "this is another string with more length to it perhaps",
                0x4f77_03da,
            ),
            ("hejsan", 0x5ec1_9395),
        ];
        for (key, positive) in cases {
            for n in [7, 17] {
                assert_eq!(partition_of(key, n), positive % n, "{key:?} of {n}");
            }
        }
        assert!(murmur2(b"23456") < 0);
        assert_eq!(partition_of("23456", 17), 9);
        assert_eq!(partition_of("hejsan", 7), 6);
    }

    #[test]
    fn partitions_are_the_positive_hash_modulo_the_count() {
        assert_eq!(partition_of("foobar", 50), 16);
        // -973932308 & 0x7fffffff = 1173551340.
        assert_eq!(partition_of("21", i32::MAX as u32), 1_173_551_340);
        for n in 1..20 {
            assert!(partition_of("agent-7", n) < n);
        }
        assert_eq!(partition_of("agent-7", 0), 0);
    }
}
