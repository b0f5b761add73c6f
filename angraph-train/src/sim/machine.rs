//! The machine: XY routes through the mesh, event paths, and neuron-to-tile placement.

use super::rng::Rng;
use angraph_core::component::{ComponentKind, Mesh, Port, COMPONENTS_PER_TILE};
use serde::{Deserialize, Serialize};

/// The tile whose network interface the off-chip injector feeds.
pub const INJECTION_TILE: u32 = 0;

/// How neurons are placed on tiles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mapping {
    /// Balanced: every tile holds the same number of neurons of each layer (+-1), in a
    /// random order.
    Uniform,
    /// Skewed: tiles get log-normal weights (sigma 0.6), a few become hot spots.
    Nonuniform,
    /// Uniform or nonuniform, chosen per sample.
    Mix,
}

/// `tile_of[l][n]`: the tile of neuron `n` of layer `l` (layer 0, the input, is off-chip).
#[derive(Debug, Clone)]
pub struct Placement {
    /// Per layer, per neuron, tile index.
    pub tile_of: Vec<Vec<u32>>,
}

impl Placement {
    /// Place layers of `sizes` (layer 0 skipped) on `tiles` tiles.
    pub fn new(mapping: Mapping, sizes: &[usize], tiles: u32, rng: &mut Rng) -> Placement {
        let mapping = match mapping {
            Mapping::Mix if rng.chance(0.5) => Mapping::Uniform,
            Mapping::Mix => Mapping::Nonuniform,
            m => m,
        };
        let weights: Vec<f64> = match mapping {
            Mapping::Nonuniform => (0..tiles).map(|_| rng.lognormal(0.6)).collect(),
            _ => vec![1.0; tiles as usize],
        };
        let total: f64 = weights.iter().sum();
        let mut tile_of = vec![Vec::new()];
        for &n in &sizes[1..] {
            let mut t: Vec<u32> = match mapping {
                Mapping::Nonuniform => (0..n)
                    .map(|_| {
                        let mut u = rng.unit() * total;
                        let mut k = 0;
                        while k + 1 < weights.len() && u >= weights[k] {
                            u -= weights[k];
                            k += 1;
                        }
                        k as u32
                    })
                    .collect(),
                _ => {
                    let off = rng.below(tiles as u64) as u32;
                    (0..n as u32).map(|i| (i + off) % tiles).collect()
                }
            };
            rng.shuffle(&mut t);
            tile_of.push(t);
        }
        Placement { tile_of }
    }
}

/// Dense id of a tile component (tiles come from routes and placements, inside the mesh).
fn id(_mesh: &Mesh, kind: ComponentKind, tile: u32) -> u32 {
    tile * COMPONENTS_PER_TILE + kind.slot()
}

/// Append the router part of the XY route from tile `s` to tile `d`: `IU, SA, OU` per router,
/// ending with `OU-0` of the target.
pub fn route(mesh: &Mesh, s: u32, d: u32, out: &mut Vec<u32>) {
    let mut cur = s;
    let mut in_port = Port::Local;
    let (dx, dy) = mesh.coords(d);
    loop {
        let (x, y) = mesh.coords(cur);
        let out_port = if x < dx {
            Port::East
        } else if x > dx {
            Port::West
        } else if y < dy {
            Port::South
        } else if y > dy {
            Port::North
        } else {
            Port::Local
        };
        out.push(id(mesh, ComponentKind::InputUnit(in_port), cur));
        out.push(id(mesh, ComponentKind::SwitchAllocator, cur));
        out.push(id(mesh, ComponentKind::OutputUnit(out_port), cur));
        match mesh.neighbour(cur, out_port) {
            Some(n) => {
                cur = n;
                in_port = out_port.opposite();
            }
            None => break,
        }
    }
}

/// Append a whole event path: from the injector (`src = None`) or from tile `src`'s PE, through
/// the network, into tile `dst`'s PE (`NI-toPE, AER, WeightSRAM, LUT`).
pub fn event_path(mesh: &Mesh, src: Option<u32>, dst: u32, out: &mut Vec<u32>) {
    let s = match src {
        None => {
            out.push(mesh.injector_id());
            INJECTION_TILE
        }
        Some(s) => s,
    };
    out.push(id(mesh, ComponentKind::NiToRouter, s));
    route(mesh, s, dst, out);
    out.push(id(mesh, ComponentKind::NiToPe, dst));
    out.push(id(mesh, ComponentKind::Aer, dst));
    out.push(id(mesh, ComponentKind::WeightSram, dst));
    out.push(id(mesh, ComponentKind::Lut, dst));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xy_route_goes_x_first_and_ends_at_ou0() {
        let mesh = Mesh::new(3, 3).unwrap();
        let mut p = Vec::new();
        event_path(&mesh, None, 5, &mut p);
        let names: Vec<String> = p
            .iter()
            .map(|&i| mesh.component(i).unwrap().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "Injector",
                "NI-0-toRouter",
                "IU-0 of Router-0",
                "SA of Router-0",
                "OU-2 of Router-0",
                "IU-4 of Router-1",
                "SA of Router-1",
                "OU-2 of Router-1",
                "IU-4 of Router-2",
                "SA of Router-2",
                "OU-3 of Router-2",
                "IU-1 of Router-5",
                "SA of Router-5",
                "OU-0 of Router-5",
                "NI-5-toPE",
                "AER of PE-5",
                "WeightSRAM of PE-5",
                "LUT of PE-5"
            ]
        );
    }

    #[test]
    fn uniform_placement_is_balanced() {
        let mut rng = Rng::new(1);
        let p = Placement::new(Mapping::Uniform, &[10, 33], 4, &mut rng);
        let mut c = [0; 4];
        for &t in &p.tile_of[1] {
            c[t as usize] += 1;
        }
        assert!(c.iter().all(|&k| k == 8 || k == 9), "{c:?}");
    }
}
