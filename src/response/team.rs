//! The team's pager in a game day: pages go to people who answer with commands, not to
//! the human model.

use serde::Serialize;

/// A page to the team.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LivePage {
    pub id: u32,
    pub at_ms: u64,
    pub about: &'static str,
    pub acked_ms: Option<u64>,
}

/// Every page sent to the team so far.
#[derive(Debug, Clone, Default)]
pub struct Pager {
    /// In the order they were sent.
    pub pages: Vec<LivePage>,
}

impl Pager {
    /// Sends a page about `about` at `t`.
    pub fn page(&mut self, t: u64, about: &'static str) {
        let id = self.pages.len() as u32 + 1;
        self.pages.push(LivePage {
            id,
            at_ms: t,
            about,
            acked_ms: None,
        });
    }

    /// Acknowledges every open page; returns what they were about.
    pub fn ack(&mut self, t: u64) -> Vec<&'static str> {
        self.pages
            .iter_mut()
            .filter(|p| p.acked_ms.is_none())
            .map(|p| {
                p.acked_ms = Some(t);
                p.about
            })
            .collect()
    }
}
