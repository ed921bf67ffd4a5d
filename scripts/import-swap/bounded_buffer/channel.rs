//! `bounded_buffer/channel` on real threads: the pipeline delivers everything, in order.
use crate::common::within;
use bounded_buffer::channel::pipeline;
use std::sync::{Arc, Mutex};

#[test]
fn the_pipeline_delivers_in_order_on_real_threads() {
    within("a pipeline of 5000 items", || {
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = out.clone();
        pipeline(0..5000, 3, |x| x * 2, move |y| o.lock().unwrap().push(y));
        let got = out.lock().unwrap().clone();
        assert_eq!(got, (0..5000).map(|x| x * 2).collect::<Vec<u64>>());
    });
}
