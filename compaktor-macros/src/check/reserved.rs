//! The names a handler cannot take. A call such as `pool.broadcast(..)` or `motor.stop()` finds
//! the methods of `Pool` and `ActorRef`, and of the traits they implement, before the handler
//! methods they deref to: a handler of such a name would be silently shadowed. This is the one
//! list of those names; the test below checks it against the runtime's sources.

/// The public inherent methods of `Pool` (which derefs to `ActorRef`).
pub(crate) const POOL: &[&str] = &[
    "actor_ref",
    "workers",
    "add_worker",
    "remove_worker",
    "for_key",
    "broadcast",
    "worker",
];

/// The public inherent methods of `ActorRef` (which derefs to the handler methods).
pub(crate) const ACTOR_REF: &[&str] = &[
    "id", "name", "label", "path", "system", "is_alive", "stop", "kill", "stopped",
];

/// The methods of the traits an `ActorRef` or a `Pool` implements (`Eq` has none), and of the
/// std traits implemented for every type or every `Clone` type (`ToOwned`, `Into`, `TryInto`,
/// `Borrow`, `BorrowMut`, `Any`); the prelude or a common import brings them into scope.
pub(crate) const TRAITS: &[(&str, &[&str])] = &[
    ("Clone", &["clone", "clone_from"]),
    ("ToOwned", &["to_owned", "clone_into"]),
    ("PartialEq", &["eq", "ne"]),
    ("Eq", &[]),
    ("Hash", &["hash"]),
    ("Deref", &["deref"]),
    ("Debug", &["fmt"]),
    ("Into", &["into"]),
    ("TryInto", &["try_into"]),
    ("Borrow", &["borrow"]),
    ("BorrowMut", &["borrow_mut"]),
    ("Any", &["type_id"]),
];

/// The method that would hide a handler named `name` at its call sites: `Pool::broadcast`,
/// `ActorRef::stop`, `Clone::clone`.
pub(crate) fn shadowed_by(name: &str) -> Option<String> {
    let inherent = [("Pool", POOL), ("ActorRef", ACTOR_REF)];
    inherent
        .into_iter()
        .chain(TRAITS.iter().copied())
        .find(|(_, names)| names.contains(&name))
        .map(|(owner, _)| format!("{owner}::{name}"))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use syn::visit::{self, Visit};

    use super::*;

    /// The public inherent methods of `ActorRef` and `Pool` and the traits implemented for
    /// them, read from every source file of the runtime.
    #[derive(Default)]
    struct Found {
        actor_ref: BTreeSet<String>,
        pool: BTreeSet<String>,
        traits: BTreeSet<String>,
    }

    impl<'ast> Visit<'ast> for Found {
        fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
            let syn::Type::Path(ty) = &*item.self_ty else {
                return visit::visit_item_impl(self, item);
            };
            let owner = ty.path.segments.last().map(|s| s.ident.to_string());
            let methods = match owner.as_deref() {
                Some("ActorRef") => &mut self.actor_ref,
                Some("Pool") => &mut self.pool,
                _ => return visit::visit_item_impl(self, item),
            };
            if let Some((_, trait_path, _)) = &item.trait_ {
                let name = trait_path
                    .segments
                    .last()
                    .expect("a trait path")
                    .ident
                    .to_string();
                self.traits.insert(name);
                return;
            }
            for impl_item in &item.items {
                if let syn::ImplItem::Fn(f) = impl_item
                    && matches!(f.vis, syn::Visibility::Public(_))
                {
                    methods.insert(f.sig.ident.to_string());
                }
            }
        }
    }

    fn read_dir(dir: &Path, found: &mut Found) {
        for entry in std::fs::read_dir(dir).expect("the runtime's sources") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                read_dir(&path, found);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("a source file");
                let file = syn::parse_file(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
                found.visit_file(&file);
            }
        }
    }

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    /// Fails when a public method is added to (or removed from) `ActorRef` or `Pool`, or a
    /// trait is implemented for them, without the list following.
    #[test]
    fn the_list_matches_the_methods_of_actor_ref_and_pool() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../compaktor/src");
        let mut found = Found::default();
        read_dir(&src, &mut found);
        assert_eq!(
            found.actor_ref,
            set(ACTOR_REF),
            "`ActorRef`'s public methods"
        );
        assert_eq!(found.pool, set(POOL), "`Pool`'s public methods");
        let listed: BTreeSet<String> = TRAITS.iter().map(|(t, _)| (*t).to_owned()).collect();
        let missing: Vec<_> = found.traits.difference(&listed).collect();
        assert!(
            missing.is_empty(),
            "traits implemented for `ActorRef` or `Pool` but not in `TRAITS`: {missing:?}"
        );
        assert!(found.traits.contains("Clone") && found.traits.contains("Deref"));
    }

    #[test]
    fn names_the_method_that_would_shadow() {
        assert_eq!(shadowed_by("broadcast").as_deref(), Some("Pool::broadcast"));
        assert_eq!(shadowed_by("stop").as_deref(), Some("ActorRef::stop"));
        assert_eq!(
            shadowed_by("clone_into").as_deref(),
            Some("ToOwned::clone_into")
        );
        assert_eq!(shadowed_by("add"), None);
    }
}
