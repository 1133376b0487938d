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

    /// Apache Kafka's `UtilsTest.testMurmur2` vectors (the empty array
    /// included), which every Kafka client matches.
    #[test]
    fn murmur2_matches_kafkas_vectors() {
        let cases: [(&[u8], i32); 7] = [
            (b"21", -973_932_308),
            (b"foobar", -790_332_482),
            (b"a-little-bit-long-string", -985_981_536),
            (b"a-little-bit-longer-string", -1_486_304_829),
            (
                b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58_897_971,
            ),
            (b"abc", 479_470_107),
            (b"", 275_646_681),
        ];
        for (data, want) in cases {
            assert_eq!(murmur2(data), want, "{:?}", String::from_utf8_lossy(data));
        }
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
