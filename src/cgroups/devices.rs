//! Device access rules: the spec's `linux.resources.devices` followed by runc's default
//! allow list, which Docker and ctr containers rely on; on v2 as an eBPF device program.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRule {
    pub allow: bool,
    /// 'a', 'c' or 'b'.
    pub kind: char,
    pub major: Option<i64>,
    pub minor: Option<i64>,
    pub access: String,
}

impl DeviceRule {
    /// The line the v1 devices controller takes: `c 1:3 rwm`, `a *:* rwm`.
    pub fn v1_line(&self) -> String {
        // Built in one buffer: a format! of two formatted numbers took 1,700 instructions
        // a rule, and `create` writes thirteen.
        fn number(line: &mut String, n: Option<i64>) {
            match n.filter(|&n| n >= 0) {
                Some(n) => line.push_str(&n.to_string()),
                None => line.push('*'),
            }
        }
        let mut line = String::with_capacity(32);
        line.push(self.kind);
        line.push(' ');
        number(&mut line, self.major);
        line.push(':');
        number(&mut line, self.minor);
        line.push(' ');
        line.push_str(&self.access);
        line
    }
}

fn rule(kind: char, major: Option<i64>, minor: Option<i64>, access: &str) -> DeviceRule {
    DeviceRule {
        allow: true,
        kind,
        major,
        minor,
        access: access.into(),
    }
}

/// runc's default allowed devices: mknod of anything, and the standard nodes.
pub fn default_allowed() -> Vec<DeviceRule> {
    vec![
        rule('c', None, None, "m"),
        rule('b', None, None, "m"),
        rule('c', Some(1), Some(3), "rwm"),    // null
        rule('c', Some(1), Some(8), "rwm"),    // random
        rule('c', Some(1), Some(7), "rwm"),    // full
        rule('c', Some(5), Some(0), "rwm"),    // tty
        rule('c', Some(1), Some(5), "rwm"),    // zero
        rule('c', Some(1), Some(9), "rwm"),    // urandom
        rule('c', Some(5), Some(1), "rwm"),    // console
        rule('c', Some(136), None, "rwm"),     // pts
        rule('c', Some(5), Some(2), "rwm"),    // ptmx
        rule('c', Some(10), Some(200), "rwm"), // tun
    ]
}

/// The spec's rules in order, then the defaults.
pub fn rules(spec_rules: &[LinuxDeviceCgroup]) -> Vec<DeviceRule> {
    let mut out: Vec<DeviceRule> = spec_rules
        .iter()
        .filter_map(|d| {
            // Letters other than r, w and m are dropped (spec::resources warns of them); a
            // rule left with none grants and denies nothing.
            let access: String = match d.access().as_deref().filter(|a| !a.is_empty()) {
                None => "rwm".into(),
                Some(a) => a.chars().filter(|c| "rwm".contains(*c)).collect(),
            };
            (!access.is_empty()).then(|| DeviceRule {
                allow: d.allow(),
                kind: match d.typ() {
                    Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => 'c',
                    Some(LinuxDeviceType::B) => 'b',
                    _ => 'a',
                },
                major: d.major(),
                minor: d.minor(),
                access,
            })
        })
        .collect();
    out.extend(default_allowed());
    out
}

/// One eBPF instruction: opcode, destination and source registers, offset, immediate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    /// The kernel's 8-byte `struct bpf_insn` (registers share a byte: dst in the low
    /// nibble on little-endian machines).
    pub fn encode(&self) -> [u8; 8] {
        let regs = if cfg!(target_endian = "little") {
            (self.src << 4) | (self.dst & 0xf)
        } else {
            (self.dst << 4) | (self.src & 0xf)
        };
        let mut out = [0u8; 8];
        out[0] = self.code;
        out[1] = regs;
        out[2..4].copy_from_slice(&self.off.to_ne_bytes());
        out[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        out
    }
}

/// The opcodes the device program uses (classic eBPF encodings).
pub mod op {
    /// r_dst = *(u32 *)(r_src + off)
    pub const LDX_W: u8 = 0x61;
    /// 32-bit r_dst &= imm
    pub const AND32_K: u8 = 0x54;
    /// 32-bit r_dst >>= imm
    pub const RSH32_K: u8 = 0x74;
    /// 32-bit r_dst = r_src
    pub const MOV32_X: u8 = 0xbc;
    /// r_dst = imm
    pub const MOV64_K: u8 = 0xb7;
    /// if r_dst != imm goto pc + 1 + off
    pub const JNE_K: u8 = 0x55;
    pub const EXIT: u8 = 0x95;
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// The kernel's device types and access bits in `struct bpf_cgroup_dev_ctx`, whose first
/// u32 is `access << 16 | type`, followed by major and minor.
pub const DEV_BLOCK: u32 = 1;
pub const DEV_CHAR: u32 = 2;
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;

fn access_bits(access: &str) -> u32 {
    access.chars().fold(0, |bits, c| {
        bits | match c {
            'm' => ACC_MKNOD,
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            _ => 0,
        }
    })
}

/// A BPF_PROG_TYPE_CGROUP_DEVICE program for `rules`, evaluated as runc's v2 filter: the
/// last rule that matches decides (so rules are emitted last first, each returning its
/// verdict), and no match denies. A rule matches when the type and the set numbers are
/// equal and the requested access bits are all in the rule's. A rule that matches
/// everything ends the program (the verifier refuses unreachable instructions).
pub fn bpf_program(rules: &[DeviceRule]) -> Vec<Insn> {
    use op::*;
    // r2 = type, r3 = access, r4 = major, r5 = minor.
    let mut prog = vec![
        insn(LDX_W, 2, 1, 0, 0),
        insn(AND32_K, 2, 0, 0, 0xffff),
        insn(LDX_W, 3, 1, 0, 0),
        insn(RSH32_K, 3, 0, 0, 16),
        insn(LDX_W, 4, 1, 4, 0),
        insn(LDX_W, 5, 1, 8, 0),
    ];
    for rule in rules.iter().rev() {
        // Each check is a list of instructions ending in a jump past this rule.
        let mut checks: Vec<Vec<Insn>> = Vec::new();
        match rule.kind {
            'c' => checks.push(vec![insn(JNE_K, 2, 0, 0, DEV_CHAR as i32)]),
            'b' => checks.push(vec![insn(JNE_K, 2, 0, 0, DEV_BLOCK as i32)]),
            _ => {}
        }
        let bits = access_bits(&rule.access);
        if bits != ACC_MKNOD | ACC_READ | ACC_WRITE {
            checks.push(vec![
                insn(MOV32_X, 1, 3, 0, 0),
                insn(AND32_K, 1, 0, 0, !bits as i32),
                insn(JNE_K, 1, 0, 0, 0),
            ]);
        }
        for (reg, n) in [(4, rule.major), (5, rule.minor)] {
            if let Some(n) = n.filter(|&n| n >= 0) {
                checks.push(vec![insn(JNE_K, reg, 0, 0, n as i32)]);
            }
        }
        let unconditional = checks.is_empty();
        let mut block: Vec<Insn> = checks.into_iter().flatten().collect();
        block.push(insn(MOV64_K, 0, 0, 0, i32::from(rule.allow)));
        block.push(insn(EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, ins) in block.iter_mut().enumerate() {
            if ins.code == JNE_K {
                ins.off = (len - i - 1) as i16;
            }
        }
        prog.extend(block);
        if unconditional {
            return prog;
        }
    }
    prog.push(insn(MOV64_K, 0, 0, 0, 0));
    prog.push(insn(EXIT, 0, 0, 0, 0));
    prog
}

/// The program as the bytes BPF_PROG_LOAD takes.
pub fn encode(prog: &[Insn]) -> Vec<u8> {
    prog.iter().flat_map(|i| i.encode()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_use_stars_for_any() {
        assert_eq!(rule('c', Some(136), None, "rwm").v1_line(), "c 136:* rwm");
        assert_eq!(rule('a', None, None, "rwm").v1_line(), "a *:* rwm");
    }

    /// A tiny interpreter for the opcodes `bpf_program` emits, over the device context.
    fn run(prog: &[Insn], kind: u32, major: u32, minor: u32, access: u32) -> bool {
        let ctx = [(access << 16) | kind, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        let mut steps = 0;
        loop {
            steps += 1;
            assert!(steps < 10_000, "runaway program");
            let i = prog[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                op::LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[i.off as usize / 4]);
                }
                op::AND32_K => r[d] = u64::from(r[d] as u32 & i.imm as u32),
                op::RSH32_K => r[d] = u64::from((r[d] as u32) >> i.imm),
                op::MOV32_X => r[d] = u64::from(r[s] as u32),
                op::MOV64_K => r[d] = i.imm as i64 as u64,
                op::JNE_K => {
                    if r[d] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                op::EXIT => return r[0] == 1,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    fn spec(json: &str) -> Vec<DeviceRule> {
        let spec: Vec<LinuxDeviceCgroup> = serde_json::from_str(json).unwrap();
        rules(&spec)
    }

    const RW: u32 = ACC_READ | ACC_WRITE;

    #[test]
    fn the_default_rules_allow_the_standard_nodes_and_deny_the_rest() {
        // What Docker and containerd send: deny everything, then runc's defaults.
        let prog = bpf_program(&spec(r#"[{"allow": false, "access": "rwm"}]"#));
        assert!(run(&prog, DEV_CHAR, 1, 3, RW), "/dev/null");
        assert!(run(&prog, DEV_CHAR, 1, 9, ACC_READ), "/dev/urandom");
        assert!(run(&prog, DEV_CHAR, 136, 4, RW), "a pts");
        assert!(run(&prog, DEV_CHAR, 10, 200, RW), "/dev/net/tun");
        assert!(
            run(&prog, DEV_CHAR, 7, 0, ACC_MKNOD),
            "mknod of any char device"
        );
        assert!(
            run(&prog, DEV_BLOCK, 8, 0, ACC_MKNOD),
            "mknod of any block device"
        );
        assert!(!run(&prog, DEV_BLOCK, 8, 0, ACC_READ), "/dev/sda read");
        assert!(!run(&prog, DEV_CHAR, 1, 1, RW), "/dev/mem");
        assert!(!run(&prog, DEV_CHAR, 7, 0, ACC_READ), "/dev/loop0 read");
        assert!(run(&prog, DEV_CHAR, 1, 3, RW | ACC_MKNOD), "/dev/null rwm");
        // No spec rules at all: the defaults alone, nothing else.
        let prog = bpf_program(&rules(&[]));
        assert!(run(&prog, DEV_CHAR, 5, 2, RW), "/dev/ptmx");
        assert!(!run(&prog, DEV_CHAR, 4, 1, RW), "/dev/tty1");
    }

    #[test]
    fn the_last_matching_rule_wins() {
        // Allow a loop device, then deny writes to it: reads pass, writes do not.
        let prog = bpf_program(&spec(
            r#"[{"allow": false, "access": "rwm"},
                {"allow": true, "type": "b", "major": 7, "minor": 0, "access": "rw"},
                {"allow": false, "type": "b", "major": 7, "minor": 0, "access": "w"}]"#,
        ));
        assert!(run(&prog, DEV_BLOCK, 7, 0, ACC_READ));
        assert!(!run(&prog, DEV_BLOCK, 7, 0, ACC_WRITE));
        assert!(!run(&prog, DEV_BLOCK, 7, 1, ACC_READ));
        assert!(!run(&prog, DEV_CHAR, 7, 0, ACC_READ), "type is checked");
        // Everything allowed last: one unconditional block ends the program.
        let allow_all = vec![rule('a', None, None, "rwm")];
        let prog = bpf_program(&allow_all);
        assert_eq!(prog.len(), 8);
        assert!(run(&prog, DEV_BLOCK, 8, 0, RW));
        // A spec rule denying a default device is overridden by the defaults after it, as
        // in runc (which appends its defaults to the spec's rules).
        let prog = bpf_program(&spec(
            r#"[{"allow": false, "type": "c", "major": 1, "minor": 3, "access": "rwm"}]"#,
        ));
        assert!(run(&prog, DEV_CHAR, 1, 3, ACC_READ));
    }

    #[test]
    fn instructions_encode_as_struct_bpf_insn() {
        let i = insn(op::LDX_W, 4, 1, 4, 0);
        let bytes = i.encode();
        assert_eq!(bytes.len(), 8);
        assert_eq!(bytes[0], 0x61);
        if cfg!(target_endian = "little") {
            assert_eq!(bytes[1], 0x14);
            assert_eq!(&bytes[2..4], &[4, 0]);
        }
        let prog = bpf_program(&rules(&[]));
        assert_eq!(encode(&prog).len(), prog.len() * 8);
    }
}
