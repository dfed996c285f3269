fn main() {
    let x = micrograd::Value::new(2.0);
    let y = (x * x).tanh();
    y.backward();
    println!("{y} {}", x.grad());
}
