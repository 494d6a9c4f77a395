import './runtime-warnings.js'
import { run } from './main.js'

void run()
