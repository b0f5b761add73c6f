//! Hardware components of the asynchronous neuromorphic mesh, their TrueAsync names and their
//! dense integer ids.
//!
//! A `W x H` [`Mesh`] has `W * H` tiles; tile `k` sits at `(k mod W, k div W)` (x grows to the
//! east, y to the south). Each tile has 16 components ([`ComponentKind`]), plus one off-chip
//! [`ComponentKind::Injector`] for the whole mesh:
//!
//! | slot | kind | TrueAsync name |
//! |---|---|---|
//! | 0..=4 | router input unit of port p | `IU-p of Router-k` |
//! | 5..=9 | router output unit of port p | `OU-p of Router-k` |
//! | 10 | switch allocator | `SA of Router-k` |
//! | 11 | network interface PE -> network | `NI-k-toRouter` |
//! | 12 | network interface network -> PE | `NI-k-toPE` |
//! | 13 | neuron-update logic | `LUT of PE-k` |
//! | 14 | synaptic memory | `WeightSRAM of PE-k` |
//! | 15 | address-event unit | `AER of PE-k` |
//! | - | off-chip spike source | `Injector` |
//!
//! Router ports: 0 = local (to/from the tile's NI), 1 = north (y - 1), 2 = east (x + 1),
//! 3 = south (y + 1), 4 = west (x - 1). An output unit `OU-p` of one router feeds the input
//! unit of the opposite port of its neighbour (east 2 <-> west 4, north 1 <-> south 3).
//!
//! The dense id of a tile component is `16 * k + slot`; the injector's id is `16 * W * H`, so
//! ids run over `0..=16 * W * H` without gaps ([`Mesh::num_components`]).

use crate::error::{Error, Resource, Result};
use core::fmt;

/// Components per tile.
pub const COMPONENTS_PER_TILE: u32 = 16;
/// Router ports per tile (local + 4 directions).
pub const PORTS: u8 = 5;
/// Largest mesh side: keeps every id, tile index and coordinate comfortably inside `u32`/`u16`.
pub const MAX_MESH_SIDE: u16 = 1024;

/// A router port.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Port {
    /// 0: to and from the tile's own network interface.
    Local,
    /// 1: towards y - 1.
    North,
    /// 2: towards x + 1.
    East,
    /// 3: towards y + 1.
    South,
    /// 4: towards x - 1.
    West,
}

impl Port {
    /// All ports in index order.
    pub const ALL: [Port; 5] = [
        Port::Local,
        Port::North,
        Port::East,
        Port::South,
        Port::West,
    ];

    /// The port number used in names (0..=4).
    pub const fn index(self) -> u8 {
        self as u8
    }

    /// The port with number `p`.
    pub const fn from_index(p: u8) -> Option<Port> {
        match p {
            0 => Some(Port::Local),
            1 => Some(Port::North),
            2 => Some(Port::East),
            3 => Some(Port::South),
            4 => Some(Port::West),
            _ => None,
        }
    }

    /// The port a flit leaving through `self` enters the neighbour by (Local stays Local).
    pub const fn opposite(self) -> Port {
        match self {
            Port::Local => Port::Local,
            Port::North => Port::South,
            Port::East => Port::West,
            Port::South => Port::North,
            Port::West => Port::East,
        }
    }
}

/// What a component is (17 kinds: 16 per tile and the injector).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ComponentKind {
    /// `IU-p of Router-k`: router input unit (a FIFO) of port p.
    InputUnit(Port),
    /// `OU-p of Router-k`: router output unit of port p.
    OutputUnit(Port),
    /// `SA of Router-k`: switch allocator (arbiter among inputs).
    SwitchAllocator,
    /// `NI-k-toRouter`: network interface, PE -> network.
    NiToRouter,
    /// `NI-k-toPE`: network interface, network -> PE.
    NiToPe,
    /// `LUT of PE-k`: neuron-update logic.
    Lut,
    /// `WeightSRAM of PE-k`: synaptic weight memory.
    WeightSram,
    /// `AER of PE-k`: address-event decoder.
    Aer,
    /// `Injector`: the off-chip source of input spikes (one per mesh).
    Injector,
}

/// Coarse classes of [`ComponentKind`] (ports merged), used by features and activity matrices.
pub const KIND_CLASSES: usize = 9;

impl ComponentKind {
    /// The slot within a tile (0..=15), or 16 for the injector.
    pub const fn slot(self) -> u32 {
        match self {
            ComponentKind::InputUnit(p) => p as u32,
            ComponentKind::OutputUnit(p) => 5 + p as u32,
            ComponentKind::SwitchAllocator => 10,
            ComponentKind::NiToRouter => 11,
            ComponentKind::NiToPe => 12,
            ComponentKind::Lut => 13,
            ComponentKind::WeightSram => 14,
            ComponentKind::Aer => 15,
            ComponentKind::Injector => 16,
        }
    }

    /// The kind in `slot` (0..=16).
    pub const fn from_slot(slot: u32) -> Option<ComponentKind> {
        Some(match slot {
            0..=4 => match Port::from_index(slot as u8) {
                Some(p) => ComponentKind::InputUnit(p),
                None => return None,
            },
            5..=9 => match Port::from_index(slot as u8 - 5) {
                Some(p) => ComponentKind::OutputUnit(p),
                None => return None,
            },
            10 => ComponentKind::SwitchAllocator,
            11 => ComponentKind::NiToRouter,
            12 => ComponentKind::NiToPe,
            13 => ComponentKind::Lut,
            14 => ComponentKind::WeightSram,
            15 => ComponentKind::Aer,
            16 => ComponentKind::Injector,
            _ => return None,
        })
    }

    /// Class index (0..9): IU, OU, SA, NI-toRouter, NI-toPE, LUT, WeightSRAM, AER, Injector.
    pub const fn class(self) -> usize {
        match self {
            ComponentKind::InputUnit(_) => 0,
            ComponentKind::OutputUnit(_) => 1,
            ComponentKind::SwitchAllocator => 2,
            ComponentKind::NiToRouter => 3,
            ComponentKind::NiToPe => 4,
            ComponentKind::Lut => 5,
            ComponentKind::WeightSram => 6,
            ComponentKind::Aer => 7,
            ComponentKind::Injector => 8,
        }
    }

    /// The router port of an input or output unit.
    pub const fn port(self) -> Option<Port> {
        match self {
            ComponentKind::InputUnit(p) | ComponentKind::OutputUnit(p) => Some(p),
            _ => None,
        }
    }
}

/// One component of a mesh: a kind and, except for the injector, a tile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Component {
    /// What it is.
    pub kind: ComponentKind,
    /// Tile index `k` (0 for the injector).
    pub tile: u32,
}

impl Component {
    /// The injector.
    pub const INJECTOR: Component = Component {
        kind: ComponentKind::Injector,
        tile: 0,
    };

    /// A tile component.
    pub const fn new(kind: ComponentKind, tile: u32) -> Component {
        Component { kind, tile }
    }

    /// Parse a TrueAsync name (`IU-p of Router-k`, `OU-p of Router-k`, `SA of Router-k`,
    /// `NI-k-toRouter`, `NI-k-toPE`, `LUT of PE-k`, `WeightSRAM of PE-k`, `AER of PE-k`,
    /// `Injector`). Exact spelling, no surrounding whitespace; numbers are decimal without sign.
    pub fn parse(name: &str) -> Result<Component> {
        if name == "Injector" {
            return Ok(Component::INJECTOR);
        }
        if let Some(rest) = name.strip_prefix("NI-") {
            if let Some(k) = rest.strip_suffix("-toRouter") {
                return Ok(Component::new(ComponentKind::NiToRouter, parse_num(k)?));
            }
            if let Some(k) = rest.strip_suffix("-toPE") {
                return Ok(Component::new(ComponentKind::NiToPe, parse_num(k)?));
            }
            return Err(Error::ComponentName);
        }
        // "<head> of Router-<n>" or "<head> of PE-<n>": the head has no space, so split at the
        // first one (a byte search; a substring search costs more than the rest of the parse).
        let (head, rest) = name.split_once(' ').ok_or(Error::ComponentName)?;
        let tile = if let Some(t) = rest.strip_prefix("of Router-") {
            parse_num(t)?
        } else if let Some(t) = rest.strip_prefix("of PE-") {
            let tile = parse_num(t)?;
            let kind = match head {
                "LUT" => ComponentKind::Lut,
                "WeightSRAM" => ComponentKind::WeightSram,
                "AER" => ComponentKind::Aer,
                _ => return Err(Error::ComponentName),
            };
            return Ok(Component::new(kind, tile));
        } else {
            return Err(Error::ComponentName);
        };
        let kind = if head == "SA" {
            ComponentKind::SwitchAllocator
        } else if let Some(p) = head.strip_prefix("IU-") {
            ComponentKind::InputUnit(parse_port(p)?)
        } else if let Some(p) = head.strip_prefix("OU-") {
            ComponentKind::OutputUnit(parse_port(p)?)
        } else {
            return Err(Error::ComponentName);
        };
        Ok(Component::new(kind, tile))
    }
}

fn parse_num(s: &str) -> Result<u32> {
    if s.is_empty() || s.len() > 9 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Error::ComponentName);
    }
    // At most 9 digits: fits u32.
    Ok(s.bytes().fold(0u32, |a, b| a * 10 + (b - b'0') as u32))
}

fn parse_port(s: &str) -> Result<Port> {
    let p = parse_num(s)?;
    if p >= PORTS as u32 {
        return Err(Error::ComponentName);
    }
    Port::from_index(p as u8).ok_or(Error::ComponentName)
}

impl fmt::Display for Component {
    /// The TrueAsync name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let k = self.tile;
        match self.kind {
            ComponentKind::InputUnit(p) => write!(f, "IU-{} of Router-{k}", p.index()),
            ComponentKind::OutputUnit(p) => write!(f, "OU-{} of Router-{k}", p.index()),
            ComponentKind::SwitchAllocator => write!(f, "SA of Router-{k}"),
            ComponentKind::NiToRouter => write!(f, "NI-{k}-toRouter"),
            ComponentKind::NiToPe => write!(f, "NI-{k}-toPE"),
            ComponentKind::Lut => write!(f, "LUT of PE-{k}"),
            ComponentKind::WeightSram => write!(f, "WeightSRAM of PE-{k}"),
            ComponentKind::Aer => write!(f, "AER of PE-{k}"),
            ComponentKind::Injector => write!(f, "Injector"),
        }
    }
}

/// A `width x height` mesh of tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mesh {
    /// Tiles along x.
    pub width: u16,
    /// Tiles along y.
    pub height: u16,
}

impl Mesh {
    /// A mesh with both sides in `1..=MAX_MESH_SIDE`.
    pub const fn new(width: u16, height: u16) -> Result<Mesh> {
        if width == 0 || height == 0 || width > MAX_MESH_SIDE || height > MAX_MESH_SIDE {
            return Err(Error::Config("mesh side must be in 1..=1024"));
        }
        Ok(Mesh { width, height })
    }

    /// Number of tiles.
    pub const fn tiles(&self) -> u32 {
        self.width as u32 * self.height as u32
    }

    /// Number of distinct component ids (16 per tile plus the injector).
    pub const fn num_components(&self) -> u32 {
        self.tiles() * COMPONENTS_PER_TILE + 1
    }

    /// The injector's id.
    pub const fn injector_id(&self) -> u32 {
        self.tiles() * COMPONENTS_PER_TILE
    }

    /// Capacity check: `Ok` when every component of this mesh fits a graph of `max_nodes` nodes
    /// (the worst case, all components active), otherwise [`Error::Capacity`].
    pub const fn check_capacity(&self, max_nodes: usize) -> Result<()> {
        if self.num_components() as usize > max_nodes {
            return Err(Error::Capacity {
                what: Resource::GraphNodes,
                needed: self.num_components() as usize,
                limit: max_nodes,
            });
        }
        Ok(())
    }

    /// Tile coordinates `(x, y)` of tile `k`.
    pub const fn coords(&self, tile: u32) -> (u16, u16) {
        (
            (tile % self.width as u32) as u16,
            (tile / self.width as u32) as u16,
        )
    }

    /// Tile index at `(x, y)`.
    pub const fn tile_at(&self, x: u16, y: u16) -> u32 {
        y as u32 * self.width as u32 + x as u32
    }

    /// The neighbour of `tile` through `port`, if inside the mesh (Local: `None`).
    pub const fn neighbour(&self, tile: u32, port: Port) -> Option<u32> {
        let (x, y) = self.coords(tile);
        match port {
            Port::Local => None,
            Port::North if y > 0 => Some(self.tile_at(x, y - 1)),
            Port::South if y + 1 < self.height => Some(self.tile_at(x, y + 1)),
            Port::East if x + 1 < self.width => Some(self.tile_at(x + 1, y)),
            Port::West if x > 0 => Some(self.tile_at(x - 1, y)),
            _ => None,
        }
    }

    /// Dense id of a component; [`Error::OutOfMesh`] when its tile is outside the mesh.
    pub const fn id_of(&self, c: Component) -> Result<u32> {
        if let ComponentKind::Injector = c.kind {
            return Ok(self.injector_id());
        }
        if c.tile >= self.tiles() {
            return Err(Error::OutOfMesh {
                id: c.tile,
                limit: self.tiles(),
            });
        }
        Ok(c.tile * COMPONENTS_PER_TILE + c.kind.slot())
    }

    /// The component with dense id `id`; [`Error::OutOfMesh`] when `id >= num_components()`.
    pub const fn component(&self, id: u32) -> Result<Component> {
        if id == self.injector_id() {
            return Ok(Component::INJECTOR);
        }
        if id > self.injector_id() {
            return Err(Error::OutOfMesh {
                id,
                limit: self.num_components(),
            });
        }
        match ComponentKind::from_slot(id % COMPONENTS_PER_TILE) {
            Some(kind) => Ok(Component::new(kind, id / COMPONENTS_PER_TILE)),
            None => Err(Error::OutOfMesh {
                id,
                limit: self.num_components(),
            }),
        }
    }

    /// Parse a TrueAsync name straight to a dense id of this mesh.
    pub fn parse_id(&self, name: &str) -> Result<u32> {
        self.id_of(Component::parse(name)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::string::ToString;

    #[test]
    fn names_roundtrip_through_ids() {
        let mesh = Mesh::new(3, 2).unwrap();
        assert_eq!(mesh.num_components(), 97);
        for id in 0..mesh.num_components() {
            let c = mesh.component(id).unwrap();
            let name = c.to_string();
            assert_eq!(Component::parse(&name).unwrap(), c, "{name}");
            assert_eq!(mesh.parse_id(&name).unwrap(), id);
        }
        assert!(mesh.component(97).is_err());
    }

    #[test]
    fn parses_the_truasync_spellings() {
        let c = Component::parse("OU-2 of Router-13").unwrap();
        assert_eq!(c, Component::new(ComponentKind::OutputUnit(Port::East), 13));
        assert_eq!(
            Component::parse("NI-0-toRouter").unwrap().kind,
            ComponentKind::NiToRouter
        );
        assert_eq!(
            Component::parse("WeightSRAM of PE-7").unwrap(),
            Component::new(ComponentKind::WeightSram, 7)
        );
        for bad in [
            "",
            "IU-5 of Router-0",
            "IU- of Router-0",
            "SA of Router-",
            "SA of Router-x",
            "SA of Router--1",
            "sa of Router-1",
            "NI-1-toPe",
            "LUT of Router-1",
            " Injector",
            "SA of Router-99999999999",
        ] {
            assert_eq!(Component::parse(bad), Err(Error::ComponentName), "{bad:?}");
        }
    }

    #[test]
    fn out_of_mesh_is_an_error() {
        let mesh = Mesh::new(2, 2).unwrap();
        assert!(matches!(
            mesh.parse_id("SA of Router-4"),
            Err(Error::OutOfMesh { id: 4, limit: 4 })
        ));
        assert_eq!(mesh.parse_id("Injector").unwrap(), 64);
        assert!(mesh.check_capacity(65).is_ok());
        assert!(mesh.check_capacity(64).is_err());
        assert!(Mesh::new(0, 3).is_err());
    }

    #[test]
    fn neighbours_follow_the_port_convention() {
        let m = Mesh::new(3, 3).unwrap();
        assert_eq!(m.neighbour(4, Port::East), Some(5));
        assert_eq!(m.neighbour(4, Port::North), Some(1));
        assert_eq!(m.neighbour(4, Port::South), Some(7));
        assert_eq!(m.neighbour(4, Port::West), Some(3));
        assert_eq!(m.neighbour(2, Port::East), None);
        assert_eq!(Port::East.opposite(), Port::West);
    }
}
